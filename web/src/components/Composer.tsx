// The message box: Enter sends, Shift+Enter breaks the line, the browser checks
// spelling, and an emoji picker opens on demand (its code loads only then).
import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_TEXT, codePoints } from '../../../functions/core/names.js';
import type { RoomState } from '../chat.js';
import { createPicker } from '../emoji.js';
import { effectiveTheme } from '../theme.js';
import { useChat } from './context.js';
import { SendIcon, SmileIcon } from './icons.js';

export function Composer({ room }: { room: RoomState }) {
  const chat = useChat();
  // unsent text per room, kept while the person looks at another room or reloads
  const [text, setText] = useState(() => chat.draft(room.id));
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    setText(chat.draft(room.id));
    // on a phone, focusing would pop the keyboard over the messages on every switch
    if (matchMedia('(min-width: 761px)').matches) input.current?.focus();
  }, [room.id]);

  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 180)}px`;
  }, [text]);

  const update = (value: string) => {
    setText(value);
    chat.saveDraft(room.id, value);
  };

  const length = codePoints(text.trim());
  const tooLong = length > MAX_TEXT;

  const send = () => {
    if (!text.trim() || tooLong) return;
    chat.send(room.id, text.trim());
    update('');
  };

  const insert = (emoji: string) => {
    const el = input.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    update(text.slice(0, start) + emoji + text.slice(end));
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + emoji.length, start + emoji.length);
    });
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="composer-input" class="sr-only">
        Message {room.label}
      </label>
      <div class={`composer-box${tooLong ? ' invalid' : ''}`}>
        <textarea
          id="composer-input"
          ref={input}
          rows={1}
          spellcheck={true}
          dir="auto"
          autocomplete="off"
          placeholder={`Message ${room.label}`}
          aria-describedby="composer-hint"
          aria-invalid={tooLong ? 'true' : undefined}
          value={text}
          onInput={(e) => update(e.currentTarget.value)}
          onKeyDown={(e) => {
            // not while an input method is composing (Japanese, Chinese, …)
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <EmojiButton onPick={insert} />
        <button type="submit" class="send-btn" aria-label="Send" disabled={!text.trim() || tooLong}>
          <SendIcon />
        </button>
      </div>
      <p id="composer-hint" class={`composer-hint${tooLong ? ' over' : ''}`}>
        {tooLong ? `${length - MAX_TEXT} characters over the ${MAX_TEXT} limit` : 'Enter to send · Shift+Enter for a new line'}
      </p>
    </form>
  );
}

function EmojiButton({ onPick }: { onPick: (emoji: string) => void }) {
  const [open, setOpen] = useState(false);
  const [failed, setFailed] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const host = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const pick = useRef(onPick);
  pick.current = onPick;

  useEffect(() => {
    if (!open) return;
    let picker: HTMLElement | undefined;
    let cancelled = false;
    setFailed(false);
    setLoaded(false);
    createPicker(effectiveTheme() === 'dark')
      .then((el) => {
        if (cancelled || !host.current) return;
        picker = el;
        el.addEventListener('emoji-click', (e) => {
          const unicode = (e as CustomEvent<{ unicode?: string }>).detail.unicode;
          setOpen(false);
          if (unicode) pick.current(unicode);
        });
        host.current.replaceChildren(el);
        setLoaded(true);
        // the picker's own search box, once it has rendered
        requestAnimationFrame(() => (el.shadowRoot?.querySelector('input') as HTMLInputElement | null)?.focus());
      })
      .catch(() => !cancelled && setFailed(true));
    const outside = (e: PointerEvent) => {
      if (!host.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => {
      cancelled = true;
      picker?.remove();
      document.removeEventListener('pointerdown', outside);
    };
  }, [open]);

  return (
    <div class="emoji">
      <button
        ref={button}
        type="button"
        class="icon-btn"
        aria-label="Insert emoji"
        aria-expanded={open}
        aria-controls="emoji-popover"
        onClick={() => setOpen(!open)}
      >
        <SmileIcon />
      </button>
      {open && (
        <div
          id="emoji-popover"
          class="emoji-popover"
          role="dialog"
          aria-label="Emoji picker"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              setOpen(false);
              button.current?.focus();
            }
          }}
        >
          {/* the picker element goes in here, outside Preact's tree */}
          <div ref={host} class="emoji-host" />
          {!loaded && (
            <p class="empty">{failed ? 'The emoji picker could not load. Check the connection and try again.' : 'Loading emoji…'}</p>
          )}
        </div>
      )}
    </div>
  );
}
