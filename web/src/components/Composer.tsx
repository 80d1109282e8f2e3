// The message box: Enter sends, Shift+Enter breaks the line, the browser checks
// spelling, and an emoji picker opens on demand (its code loads only then).
// Typing `@` suggests the room's members; Up in an empty box edits my last
// message; "Replying to alice" shows above it while answering a message.
import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_TEXT, codePoints } from '../../../functions/core/names.js';
import type { RoomState } from '../chat.js';
import { createPicker } from '../emoji.js';
import { lastEditable, mentionCandidates, mentionQuery, typingText } from '../messages.js';
import { effectiveTheme } from '../theme.js';
import { useChat } from './context.js';
import { AttachButton, AttachmentTray, useAttachments } from './Files.js';
import { CloseIcon, SendIcon, SmileIcon } from './icons.js';

interface Suggest {
  /** where the `@` is */
  start: number;
  options: string[];
  index: number;
}

export function Composer({ room }: { room: RoomState }) {
  const chat = useChat();
  const me = chat.me.value!.username;
  // unsent text per room, kept while the person looks at another room or reloads
  const [text, setText] = useState(() => chat.draft(room.id));
  const [suggest, setSuggest] = useState<Suggest | null>(null);
  /** the `@` whose suggestions Escape closed: not offered again until another one */
  const dismissed = useRef<number | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const replyTo = room.replyTo.value;
  const attachments = useAttachments(room);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    setText(chat.draft(room.id));
    setSuggest(null);
    // on a phone, focusing would pop the keyboard over the messages on every switch
    if (matchMedia('(min-width: 761px)').matches) input.current?.focus();
  }, [room.id]);

  // choosing Reply puts the cursor here
  useEffect(() => {
    if (replyTo) input.current?.focus();
  }, [replyTo]);

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

  /** What to suggest for the word at the caret, if it is an `@name` being typed. */
  const lookUp = (value: string, caret: number) => {
    const q = mentionQuery(value, caret);
    if (!q || q.start === dismissed.current) {
      if (!q) dismissed.current = null;
      setSuggest(null);
      return;
    }
    const options = mentionCandidates(room.members.peek(), q.query, me, room.kind === 'channel');
    setSuggest(options.length ? { start: q.start, options, index: 0 } : null);
  };

  const pick = (name: string) => {
    const el = input.current;
    if (!el || !suggest) return;
    const caret = el.selectionStart;
    const inserted = `@${name} `;
    update(text.slice(0, suggest.start) + inserted + text.slice(caret));
    setSuggest(null);
    const at = suggest.start + inserted.length;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(at, at);
    });
  };

  const length = codePoints(text.trim());
  const tooLong = length > MAX_TEXT;

  const hasFiles = attachments.items.length > 0;
  // With files, the text is a caption and may be empty; every file must be up first.
  const canSend = (Boolean(text.trim()) || hasFiles) && !tooLong && attachments.ready;

  const send = () => {
    if (!canSend) return;
    if (!chat.send(room.id, text.trim(), attachments.files)) return;
    update('');
    attachments.clear();
    setSuggest(null);
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

  const onKeyDown = (e: KeyboardEvent & { currentTarget: HTMLTextAreaElement }) => {
    if (suggest) {
      const n = suggest.options.length;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setSuggest({ ...suggest, index: (suggest.index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n });
        return;
      }
      if ((e.key === 'Enter' && !e.shiftKey && !e.isComposing) || e.key === 'Tab') {
        e.preventDefault();
        pick(suggest.options[suggest.index]!);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        dismissed.current = suggest.start;
        setSuggest(null);
        return;
      }
    }
    // not while an input method is composing (Japanese, Chinese, …)
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'ArrowUp' && !text && !e.shiftKey && !e.altKey) {
      // Up in an empty box edits my last message, as in many chats
      const last = lastEditable(room.messages.peek(), me);
      if (last) {
        e.preventDefault();
        room.editing.value = last.id;
      }
    } else if (e.key === 'Escape' && room.replyTo.peek()) {
      e.stopPropagation();
      room.replyTo.value = null;
    }
  };

  const optionId = (i: number) => `mention-option-${i}`;

  return (
    <form
      class={`composer${dragging ? ' dragging' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        setDragging(false);
        const files = [...(e.dataTransfer?.files ?? [])];
        if (!files.length) return;
        e.preventDefault();
        attachments.add(files);
      }}
    >
      <TypingIndicator room={room} />
      {replyTo && (
        <div class="replying">
          <span class="replying-text">
            Replying to <strong>{replyTo.from === me ? 'yourself' : replyTo.from}</strong>
          </span>
          <button type="button" class="icon-btn small" aria-label="Cancel the reply" onClick={() => (room.replyTo.value = null)}>
            <CloseIcon />
          </button>
        </div>
      )}
      <AttachmentTray attachments={attachments} />
      <label for="composer-input" class="sr-only">
        Message {room.label}
      </label>
      <div class={`composer-box${tooLong ? ' invalid' : ''}`}>
        {suggest && (
          <ul id="mention-list" class="mention-list" role="listbox" aria-label="People to mention">
            {suggest.options.map((name, i) => (
              <li
                key={name}
                id={optionId(i)}
                role="option"
                aria-selected={i === suggest.index}
                class={i === suggest.index ? 'active' : undefined}
                // keep the focus in the message box
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => pick(name)}
              >
                @{name}
                {name === 'here' && <span class="mention-note"> everyone online here</span>}
                {name !== 'here' && chat.profiles.displayName(name) && <span class="mention-note"> {chat.profiles.displayName(name)}</span>}
              </li>
            ))}
          </ul>
        )}
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
          aria-autocomplete="list"
          aria-controls={suggest ? 'mention-list' : undefined}
          aria-activedescendant={suggest ? optionId(suggest.index) : undefined}
          value={text}
          onInput={(e) => {
            const el = e.currentTarget;
            update(el.value);
            lookUp(el.value, el.selectionStart);
            if (el.value.trim()) chat.typing(room);
          }}
          onKeyDown={onKeyDown}
          onKeyUp={(e) => {
            if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
              lookUp(e.currentTarget.value, e.currentTarget.selectionStart);
            }
          }}
          onClick={(e) => lookUp(e.currentTarget.value, e.currentTarget.selectionStart)}
          onBlur={() => setSuggest(null)}
          onPaste={(e) => {
            // a screenshot (or files copied elsewhere) becomes an attachment
            const files = [...(e.clipboardData?.files ?? [])];
            if (!files.length) return;
            e.preventDefault();
            attachments.add(files);
          }}
        />
        <AttachButton onFiles={attachments.add} />
        <EmojiButton onPick={insert} />
        <button type="submit" class="send-btn" aria-label="Send" disabled={!canSend}>
          <SendIcon />
        </button>
      </div>
      <p id="composer-hint" class={`composer-hint${tooLong ? ' over' : ''}`}>
        {tooLong
          ? `${length - MAX_TEXT} characters over the ${MAX_TEXT} limit`
          : 'Enter to send · Shift+Enter for a new line · @ to mention · ↑ to edit your last message · paste or drop files to attach'}
      </p>
    </form>
  );
}

/** "alice is typing…", in a polite live region that is always there (so it is heard when it changes). */
function TypingIndicator({ room }: { room: RoomState }) {
  // the room's timer updates `typing` when someone's time is up
  const names = room.typingNow();
  return (
    <p class="typing" aria-live="polite" aria-atomic="true">
      {typingText(names)}
    </p>
  );
}

function EmojiButton({ onPick }: { onPick: (emoji: string) => void }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
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
      {open && <EmojiPopover id="emoji-popover" opener={button} onPick={onPick} onClose={() => setOpen(false)} />}
    </div>
  );
}

/**
 * The emoji picker in a popover: loads on first use, closes on a pick, on
 * Escape (focus back to `opener`) and on a click outside.
 */
export function EmojiPopover({
  id,
  opener,
  onPick,
  onClose,
  label = 'Emoji picker',
  class: className = '',
}: {
  id: string;
  opener: RefObject<HTMLElement>;
  onPick: (emoji: string) => void;
  onClose: () => void;
  label?: string;
  class?: string;
}) {
  const [failed, setFailed] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const host = useRef<HTMLDivElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const handlers = useRef({ onPick, onClose });
  handlers.current = { onPick, onClose };

  useEffect(() => {
    let picker: HTMLElement | undefined;
    let cancelled = false;
    createPicker(effectiveTheme() === 'dark')
      .then((el) => {
        if (cancelled || !host.current) return;
        picker = el;
        el.addEventListener('emoji-click', (e) => {
          const unicode = (e as CustomEvent<{ unicode?: string }>).detail.unicode;
          handlers.current.onClose();
          if (unicode) handlers.current.onPick(unicode);
        });
        host.current.replaceChildren(el);
        setLoaded(true);
        // the picker's own search box, once it has rendered
        requestAnimationFrame(() => (el.shadowRoot?.querySelector('input') as HTMLInputElement | null)?.focus());
      })
      .catch(() => !cancelled && setFailed(true));
    const outside = (e: PointerEvent) => {
      if (!box.current?.contains(e.target as Node) && !opener.current?.contains(e.target as Node)) handlers.current.onClose();
    };
    document.addEventListener('pointerdown', outside);
    return () => {
      cancelled = true;
      picker?.remove();
      document.removeEventListener('pointerdown', outside);
    };
  }, []);

  return (
    <div
      ref={box}
      id={id}
      class={`emoji-popover ${className}`}
      role="dialog"
      aria-label={label}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          handlers.current.onClose();
          opener.current?.focus();
        }
      }}
    >
      {/* the picker element goes in here, outside Preact's tree */}
      <div ref={host} class="emoji-host" />
      {!loaded && <p class="empty">{failed ? 'The emoji picker could not load. Check the connection and try again.' : 'Loading emoji…'}</p>}
    </div>
  );
}
