// A room's messages: day separators, consecutive messages from one person
// grouped, mine on the other side, links clickable, a Markdown subset
// formatted. Text is only ever rendered as text nodes and elements built one by
// one: a message that looks like HTML shows as what it is.
// Each message has a "Message actions" menu (reply, react, and for my own edit
// and delete), its reactions as toggle buttons, an "edited" mark, and in a DM
// "Seen" under the last of mine the other person read.
import { Component, h, type ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { PendingSend, RoomState } from '../chat.js';
import { MAX_TEXT, codePoints } from '../../../functions/core/names.js';
import { announcement } from '../../../functions/core/timers.js';
import { isLong, messageSegments, shorten, SHORT_CHARS, SHORT_LINES, type Segment } from '../linkify.js';
import { hasMarkdown, loadMarkdown, markdown } from '../format.js';
import type { Block, Inline } from '../markdown.js';
import { findById, mentionsMe, messagePreview, reactionLabel, sameMessage, seenMessageId } from '../messages.js';
import { dayKey, dayLabel, fullTimeLabel, timeLabel } from '../time.js';
import type { Message } from '../types.js';
import { EmojiPopover } from './Composer.js';
import { useChat } from './context.js';
import { MessageFiles } from './Files.js';
import { ConfirmDialog } from './Dialog.js';
import { describeError } from './Field.js';
import { ArrowDownIcon, MoreIcon, ReplyIcon, TimerIcon } from './icons.js';
import { useOlderOnScrollUp } from './older.js';
import { PersonName } from './Person.js';
import { initials } from '../profiles.js';

/** Within this gap, a person's messages share one header. */
const GROUP_MS = 5 * 60_000;
/** The quick reactions in each message's menu; any other comes from the emoji picker. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];
/** How long a message brought into view stays highlighted. */
const HIGHLIGHT_MS = 2500;

export function hue(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) % 360;
  return h;
}

export function Avatar({ name, size = 'md' }: { name: string; size?: 'sm' | 'md' }) {
  // E20: the person's picture when they chose one, else initials on a colour of their own
  const profiles = useChat().profiles;
  const deleted = profiles.isDeleted(name);
  const url = profiles.avatarUrl(name);
  if (url) return <img class={`avatar ${size}`} src={url} alt="" aria-hidden="true" />;
  return (
    // the initial is CSS content: decoration, not part of any button's name
    <span
      class={`avatar ${size}${deleted ? ' deleted' : ''}`}
      style={{ '--hue': String(hue(name)) }}
      data-initial={deleted ? '?' : initials(profiles.displayName(name) ?? name)}
      aria-hidden="true"
    />
  );
}

// ---- text -------------------------------------------------------------------

/** Who a message mentions, for highlighting `@name` in its text; null when nobody. */
interface Mentions {
  names: ReadonlySet<string>;
  me: string;
}

function mentionsOf(m: Message, me: string): Mentions | null {
  if (!m.mentions?.length && !m.mentionsHere) return null;
  const names = new Set(m.mentions ?? []);
  if (m.mentionsHere) names.add('here');
  return { names, me };
}

const AT_NAME = /@([A-Za-z0-9_.-]+)/g;

/** `text` with each `@name` of a mentioned member set apart (mine highlighted); linear. */
function withMentions(text: string, mentions: Mentions | null): ComponentChildren {
  if (!mentions || !text.includes('@')) return text;
  const out: ComponentChildren[] = [];
  let at = 0;
  for (const match of text.matchAll(AT_NAME)) {
    const start = match.index!;
    // at the start of a word (not an email address), without sentence punctuation after it
    if (start > 0 && /[\p{L}\p{N}_.-]/u.test(text[start - 1]!)) continue;
    const name = match[1]!.replace(/[.-]+$/, '').toLowerCase();
    if (!mentions.names.has(name)) continue;
    const end = start + 1 + name.length;
    if (start > at) out.push(text.slice(at, start));
    const mine = name === mentions.me || name === 'here';
    out.push(
      mine ? (
        <mark key={start} class="mention mention-me">
          {text.slice(start, end)}
        </mark>
      ) : (
        <span key={start} class="mention">
          {text.slice(start, end)}
        </span>
      ),
    );
    at = end;
  }
  if (at === 0) return text;
  if (at < text.length) out.push(text.slice(at));
  return out;
}

function SegmentsView({ segments, mentions }: { segments: readonly Segment[]; mentions: Mentions | null }) {
  return (
    <>
      {segments.map((s, i) =>
        'href' in s ? (
          // dir="ltr" isolates the address from right-to-left text around it
          <a key={i} href={s.href} dir="ltr" target="_blank" rel="noopener noreferrer nofollow">
            {s.text}
          </a>
        ) : (
          withMentions(s.text, mentions)
        ),
      )}
    </>
  );
}

function inlineNodes(inlines: readonly Inline[], mentions: Mentions | null): ComponentChildren {
  return inlines.map((x, i) => {
    if (typeof x === 'string') return withMentions(x, mentions);
    switch (x.k) {
      case 'strong':
        return <strong key={i}>{inlineNodes(x.c, mentions)}</strong>;
      case 'em':
        return <em key={i}>{inlineNodes(x.c, mentions)}</em>;
      case 's':
        return <s key={i}>{inlineNodes(x.c, mentions)}</s>;
      case 'code':
        return <code key={i}>{x.text}</code>;
      case 'a':
        return (
          <a key={i} href={x.href} dir="ltr" target="_blank" rel="noopener noreferrer nofollow">
            {x.text}
          </a>
        );
      case 'label':
        // the label, and the host the link really goes to, both inside the link
        return (
          <a key={i} href={x.href} target="_blank" rel="noopener noreferrer nofollow">
            {inlineNodes(x.c, null)}
            <span class="link-host" dir="ltr">
              {' '}
              ({x.host})
            </span>
          </a>
        );
    }
  });
}

function blockNodes(blocks: readonly Block[], mentions: Mentions | null): ComponentChildren {
  return blocks.map((b, i) => {
    switch (b.k) {
      case 'p':
        return b.tight ? <span key={i}>{inlineNodes(b.c, mentions)}</span> : <p key={i}>{inlineNodes(b.c, mentions)}</p>;
      case 'pre':
        // keeps its spaces and scrolls sideways; focusable so a keyboard can scroll it
        return (
          <pre key={i} tabIndex={0}>
            <code>{b.text}</code>
          </pre>
        );
      case 'quote':
        return <blockquote key={i}>{blockNodes(b.c, mentions)}</blockquote>;
      case 'ul':
        return (
          <ul key={i}>
            {b.items.map((item, j) => (
              <li key={j}>{blockNodes(item, mentions)}</li>
            ))}
          </ul>
        );
      case 'ol':
        return (
          <ol key={i} start={b.start}>
            {b.items.map((item, j) => (
              <li key={j}>{blockNodes(item, mentions)}</li>
            ))}
          </ol>
        );
    }
  });
}

/**
 * One message's text: formatted when it holds Markdown (parsed once, cached by
 * text), otherwise linkified once (cached by text); when very long (many lines
 * or characters), shortened with "Show more": a message of 4,000 line breaks is
 * not 4,000 lines tall for everyone in the room. See messageSegments.
 */
export function MessageText({ text, mentions = null }: { text: string; mentions?: Mentions | null }) {
  const [expanded, setExpanded] = useState(false);
  const formatted = hasMarkdown(text);
  // the formatter's chunk, on the first load: plain text until it is here
  const md = formatted ? markdown.value : null;
  if (formatted && !md) void loadMarkdown();
  const blocks = md ? md.messageBlocks(text) : null;
  let short = false;
  let body: ComponentChildren;
  if (md && blocks) {
    short = isLong([{ text }]);
    body = blockNodes(short && !expanded ? md.shortenBlocks(blocks, SHORT_CHARS, SHORT_LINES) : blocks, mentions);
  } else {
    const segments = messageSegments(text);
    const cut = shorten(segments);
    short = cut !== undefined;
    body = <SegmentsView segments={cut && !expanded ? cut : segments} mentions={mentions} />;
  }
  const Tag = blocks ? 'div' : 'p';
  return (
    <>
      <Tag class={blocks ? 'msg-text md' : 'msg-text'} dir="auto">
        {body}
        {short && !expanded && '…'}
      </Tag>
      {short && (
        <button type="button" class="msg-more" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show less' : 'Show more'}
        </button>
      )}
    </>
  );
}

// ---- one message ------------------------------------------------------------

/**
 * A component that renders again only when `same` says its props changed: the
 * list re-renders on every new message (and with every announcement above it),
 * and each message it already shows should cost nothing then.
 */
function memo<P extends object>(render: (props: P) => ComponentChildren, same: (a: P, b: P) => boolean) {
  return class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      return !same(this.props, next);
    }
    override render(props: P): ComponentChildren {
      // as a component of its own, so it may use hooks
      return h(render as (p: P) => preact.VNode, props);
    }
  };
}

function startsGroup(m: Message, prev: Message | undefined): boolean {
  // an announcement between two messages ends the group
  if (!prev || prev.timer !== undefined || prev.from !== m.from || dayKey(prev.at) !== dayKey(m.at)) return true;
  return new Date(m.at).getTime() - new Date(prev.at).getTime() > GROUP_MS;
}

/** What a reply shows of the message it answers: the loaded original if we have it (it may have changed since). */
type Quote = { id: string; from: string; text: string } | { id: string; deleted: true; expired?: boolean };

function quoteOf(m: Message, messages: readonly Message[]): Quote | null {
  const ref = m.replyTo;
  if (!ref) return null;
  const original = findById(messages, ref.id);
  if (original) return original.deleted ? { id: ref.id, deleted: true } : { id: ref.id, from: original.from, text: firstLine(original.text) };
  if (ref.deleted) return ref.expired ? { id: ref.id, deleted: true, expired: true } : { id: ref.id, deleted: true };
  return { id: ref.id, from: ref.from, text: firstLine(ref.text) };
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 100 ? `${line.slice(0, /[\uD800-\uDBFF]/.test(line[99]!) ? 99 : 100)}…` : line;
}

function sameQuote(a: Quote | null, b: Quote | null): boolean {
  if (a === null || b === null) return a === b;
  if ('deleted' in a || 'deleted' in b) return a.id === b.id && 'deleted' in a && 'deleted' in b && a.expired === b.expired;
  return a.id === b.id && a.from === b.from && a.text === b.text;
}

type ItemProps = {
  room: RoomState;
  m: Message;
  me: string;
  first: boolean;
  quote: Quote | null;
  editing: boolean;
  highlight: boolean;
  seen: boolean;
};

function MessageItemView({ room, m, me, first, quote, editing, highlight, seen }: ItemProps) {
  const chat = useChat();
  const own = m.from === me;
  const who = own ? 'You' : chat.profiles.label(m.from);
  const [picker, setPicker] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const actions = useRef<HTMLButtonElement>(null);
  // *(E22)* a blocked person's channel message, collapsed until shown
  const collapsed = !own && !m.deleted && room.kind === 'channel' && chat.safety.isBlocked(m.from) && !chat.safety.revealed.value.has(m.id);
  const mentioned = !own && !m.deleted && mentionsMe(m, me);
  const classes = ['msg', own && 'own', first && 'first', mentioned && 'mentions-me', highlight && 'highlight', m.deleted && 'deleted']
    .filter(Boolean)
    .join(' ');
  if (collapsed) {
    return (
      <li class="msg first blocked" data-id={m.id} tabIndex={-1}>
        <span class="avatar-space" aria-hidden="true" />
        <div class="msg-body">
          <p class="msg-deleted">
            Message from a blocked person —{' '}
            <button type="button" class="btn link small" onClick={() => chat.safety.reveal(m.id)}>
              show
            </button>
          </p>
        </div>
      </li>
    );
  }
  return (
    <li class={classes} data-id={m.id} tabIndex={-1}>
      {!own && (first ? <Avatar name={m.from} /> : <span class="avatar-space" aria-hidden="true" />)}
      <div class="msg-body">
        <div class="bubble">
          {first ? (
            <div class="msg-meta">
              {own ? <span class="msg-from">{who}</span> : <PersonName username={m.from} class="msg-from" />}
              <time dateTime={m.at} title={fullTimeLabel(m.at)}>
                {timeLabel(m.at)}
              </time>
            </div>
          ) : (
            <span class="sr-only">
              {who} at {timeLabel(m.at)}:{' '}
            </span>
          )}
          {quote && <ReplyQuote room={room} quote={quote} me={me} />}
          {m.deleted ? (
            <p class="msg-deleted">{m.removedBy ? 'removed by a moderator' : 'message deleted'}</p>
          ) : editing ? (
            <MessageEditor room={room} m={m} />
          ) : (
            m.text && <MessageText text={m.text} mentions={mentionsOf(m, me)} />
          )}
          {!m.deleted && m.files && m.files.length > 0 && <MessageFiles files={m.files} />}
          {m.editedAt && !m.deleted && (
            <span class="edited" title={`Edited ${fullTimeLabel(m.editedAt)}`}>
              edited<span class="sr-only"> {fullTimeLabel(m.editedAt)}</span>
            </span>
          )}
          {m.expiresAt && !m.deleted && (
            <span class="edited" title={`Disappears ${fullTimeLabel(m.expiresAt)}`}>
              <TimerIcon size={12} />
              <span class="sr-only">disappears {fullTimeLabel(m.expiresAt)}</span>
            </span>
          )}
        </div>
        {!m.deleted && m.reactions && m.reactions.length > 0 && (
          <Reactions room={room} m={m} me={me} onAdd={() => setPicker(true)} />
        )}
        {seen && <p class="seen">Seen</p>}
        {picker && (
          <EmojiPopover
            id={`react-${m.id}`}
            class="react-popover"
            label="Pick a reaction"
            opener={actions}
            onClose={() => setPicker(false)}
            onPick={(emoji) => void chat.react(room, m.id, emoji, true)}
          />
        )}
      </div>
      {!m.deleted && !editing && (
        <MessageActions
          room={room}
          m={m}
          own={own}
          button={actions}
          onAddReaction={() => setPicker(true)}
          onDelete={() => {
            setError(null);
            setConfirm(true);
          }}
        />
      )}
      {confirm && (
        <ConfirmDialog
          open
          title={own ? 'Delete this message?' : 'Remove this message?'}
          confirmLabel={own ? (busy ? 'Deleting…' : 'Delete') : busy ? 'Removing…' : 'Remove'}
          danger
          busy={busy}
          error={error}
          onCancel={() => setConfirm(false)}
          onConfirm={async () => {
            setBusy(true);
            setError(null);
            try {
              if (own) await chat.deleteMessage(room, m.id);
              else await chat.removeMessage(room, m.id);
              setConfirm(false);
            } catch (err) {
              setError(describeError(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>
            {own
              ? 'It is removed for everyone; "message deleted" shows in its place. This cannot be undone.'
              : `${m.from}'s message is removed for everyone; "removed by a moderator" shows in its place. This cannot be undone.`}
          </p>
        </ConfirmDialog>
      )}
    </li>
  );
}

// Compared by content, not identity: a copy of a message (catch-up, a repeat) is the same message.
const MessageItem = memo(
  MessageItemView,
  (a, b) =>
    (a.m === b.m || sameMessage(a.m, b.m)) &&
    a.room === b.room &&
    a.me === b.me &&
    a.first === b.first &&
    sameQuote(a.quote, b.quote) &&
    a.editing === b.editing &&
    a.highlight === b.highlight &&
    a.seen === b.seen,
);

function ReplyQuote({ room, quote, me }: { room: RoomState; quote: Quote; me: string }) {
  const chat = useChat();
  if ('deleted' in quote) {
    return (
      <p class="quote gone">
        <ReplyIcon /> original message {quote.expired ? 'expired' : 'deleted'}
      </p>
    );
  }
  const who = quote.from === me ? 'you' : chat.profiles.label(quote.from);
  return (
    <button
      type="button"
      class="quote"
      aria-label={`Reply to ${who}: ${quote.text}. Go to the original message`}
      onClick={() => void chat.jumpTo(room, quote.id)}
    >
      <ReplyIcon />
      <span class="quote-from">{who}</span> <span class="quote-text">{quote.text}</span>
    </button>
  );
}

function Reactions({ room, m, me, onAdd }: { room: RoomState; m: Message; me: string; onAdd: () => void }) {
  const chat = useChat();
  return (
    <div class="reactions" role="group" aria-label="Reactions">
      {m.reactions!.map((r) => {
        const mine = r.users.includes(me);
        return (
          <button
            key={r.emoji}
            type="button"
            class={`reaction${mine ? ' mine' : ''}`}
            aria-pressed={mine}
            aria-label={reactionLabel(r)}
            title={r.users.join(', ')}
            onClick={() => void chat.react(room, m.id, r.emoji, !mine)}
          >
            <span aria-hidden="true">{r.emoji}</span>
            <span class="reaction-count" aria-hidden="true">
              {r.count}
            </span>
          </button>
        );
      })}
      <button type="button" class="reaction add" aria-label="Add reaction" title="Add reaction" onClick={onAdd}>
        <span aria-hidden="true">+</span>
      </button>
    </div>
  );
}

/**
 * The "Message actions" button and its menu (the ARIA menu button pattern):
 * arrows move between the items, Escape closes and returns to the button.
 */
function MessageActions({
  room,
  m,
  own,
  button,
  onAddReaction,
  onDelete,
}: {
  room: RoomState;
  m: Message;
  own: boolean;
  button: preact.RefObject<HTMLButtonElement>;
  onAddReaction: () => void;
  onDelete: () => void;
}) {
  const chat = useChat();
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const menuId = `actions-${m.id}`;

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const outside = (e: PointerEvent) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);

  const run = (action: () => void, refocus = true) => {
    setOpen(false);
    if (refocus) button.current?.focus();
    action();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const move = (to: number) => {
      e.preventDefault();
      items[(to + items.length) % items.length]?.focus();
    };
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') move(at + 1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') move(at - 1);
    else if (e.key === 'Home') move(0);
    else if (e.key === 'End') move(items.length - 1);
    else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setOpen(false);
      button.current?.focus();
    } else if (e.key === 'Tab') setOpen(false);
  };

  const mine = (emoji: string) => m.reactions?.find((r) => r.emoji === emoji)?.users.includes(chat.me.peek()!.username) ?? false;

  return (
    <div class="msg-actions">
      <button
        ref={button}
        type="button"
        class="icon-btn msg-actions-btn"
        aria-label="Message actions"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen(!open)}
      >
        <MoreIcon />
      </button>
      {open && (
        <div ref={menu} id={menuId} class="menu" role="menu" aria-label="Message actions" onKeyDown={onKeyDown}>
          <div class="menu-reactions" role="group" aria-label="Quick reactions">
            {QUICK_REACTIONS.map((emoji) => (
              <button
                key={emoji}
                type="button"
                role="menuitem"
                tabIndex={-1}
                class={`menu-emoji${mine(emoji) ? ' mine' : ''}`}
                aria-label={mine(emoji) ? `Remove your ${emoji} reaction` : `React with ${emoji}`}
                onClick={() => run(() => void chat.react(room, m.id, emoji, !mine(emoji)))}
              >
                {emoji}
              </button>
            ))}
          </div>
          <button type="button" role="menuitem" tabIndex={-1} onClick={() => run(onAddReaction, false)}>
            Add reaction…
          </button>
          <button type="button" role="menuitem" tabIndex={-1} onClick={() => run(() => (room.replyTo.value = m), false)}>
            Reply
          </button>
          {own && (
            <button type="button" role="menuitem" tabIndex={-1} onClick={() => run(() => (room.editing.value = m.id), false)}>
              Edit
            </button>
          )}
          {own && (
            <button type="button" role="menuitem" tabIndex={-1} class="danger" onClick={() => run(onDelete, false)}>
              Delete…
            </button>
          )}
          {!own && m.timer === undefined && chat.canModerate(room) && (
            <button type="button" role="menuitem" tabIndex={-1} class="danger" onClick={() => run(onDelete, false)}>
              Remove…
            </button>
          )}
          {!own && m.timer === undefined && (
            <button type="button" role="menuitem" tabIndex={-1} onClick={() => run(() => (chat.safety.reportTarget.value = m), false)}>
              Report…
            </button>
          )}
          {!own && !m.from.startsWith('~') && !chat.safety.isBlocked(m.from) && (
            <button
              type="button"
              role="menuitem"
              tabIndex={-1}
              class="danger"
              onClick={() =>
                run(() => {
                  chat.safety.block(m.from).then(
                    () => chat.showToast(`You blocked ${m.from}. Undo it in Account.`),
                    (err) => chat.showToast(describeError(err), true),
                  );
                }, false)
              }
            >
              Block {m.from}
            </button>
          )}
        </div>
      )}
    </div>
  );
}

/** My message's text, editable in place: Enter saves, Shift+Enter breaks the line, Escape cancels. */
function MessageEditor({ room, m }: { room: RoomState; m: Message }) {
  const chat = useChat();
  const [text, setText] = useState(m.text);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const id = `edit-${m.id}`;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text]);

  const done = () => {
    room.editing.value = null;
    document.getElementById('composer-input')?.focus();
  };
  const tooLong = codePoints(text.trim()) > MAX_TEXT;
  const save = async () => {
    const value = text.trim();
    if (value === m.text) return done();
    if (!value || tooLong) return;
    setBusy(true);
    setError(null);
    try {
      await chat.edit(room, m.id, value);
      done();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <form
      class="editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label for={id} class="sr-only">
        Edit your message
      </label>
      <textarea
        id={id}
        ref={box}
        rows={1}
        dir="auto"
        value={text}
        aria-invalid={tooLong || error ? 'true' : undefined}
        aria-describedby={`${id}-hint`}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void save();
          } else if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            done();
          }
        }}
      />
      <p id={`${id}-hint`} class={error || tooLong ? 'field-error' : 'editor-hint'} role={error ? 'alert' : undefined}>
        {error ?? (tooLong ? `Over the ${MAX_TEXT}-character limit` : 'Enter to save · Escape to cancel')}
      </p>
      <div class="editor-actions">
        <button type="button" class="btn small ghost" onClick={done}>
          Cancel
        </button>
        <button type="submit" class="btn small primary" disabled={busy || !text.trim() || tooLong}>
          Save
        </button>
      </div>
    </form>
  );
}

function PendingItem({ p }: { p: PendingSend }) {
  const chat = useChat();
  const online = chat.conn.status.value === 'open';
  const failed = p.state === 'failed';
  // Offline it waits in the device's outbox, and says so (to screen readers too: it is text).
  const state = failed ? 'Not sent' : online ? 'Sending…' : 'Pending: will be sent when you are back online';
  const preview = messagePreview(p.text || p.files?.map((f) => f.name).join(', ') || '', 40);
  return (
    <li class={`msg own first pending${failed ? ' failed' : ''}${online ? '' : ' waiting'}`}>
      <div class="msg-body">
        <div class="bubble">
          <div class="msg-meta">
            <span class="msg-from">You</span>
            <span class="msg-state">{state}</span>
          </div>
          {p.replyTo && <p class="quote gone">Replying to {p.replyTo.from}</p>}
          {p.text && <MessageText text={p.text} />}
          {p.files && (
            <ul class="pending-files" aria-label="Files">
              {p.files.map((f) => (
                <li key={f.id}>{f.name}</li>
              ))}
            </ul>
          )}
          {failed && (
            <div class="pending-actions">
              <span class="field-error">{p.error}</span>
              <button type="button" class="btn small" onClick={() => chat.retry(p)}>
                Try again
              </button>
              <button type="button" class="btn small ghost" onClick={() => chat.discard(p)}>
                Discard
              </button>
            </div>
          )}
          {!failed && !online && (
            <div class="pending-actions">
              <button type="button" class="btn small ghost" aria-label={`Cancel unsent message: ${preview}`} onClick={() => chat.cancel(p)}>
                Cancel
              </button>
            </div>
          )}
        </div>
      </div>
    </li>
  );
}

// ---- the list -----------------------------------------------------------------

export function MessageList({ room }: { room: RoomState }) {
  const chat = useChat();
  const me = chat.me.value!.username;
  const messages = room.messages.value;
  const pending = room.pending.value;
  const editing = room.editing.value;
  const highlight = room.highlight.value;
  const seenId = room.kind === 'dm' && chat.readReceipts.value !== false ? seenMessageId(messages, room.seenThrough.value, me) : null;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prevCount = useRef(0);
  const prevFirst = useRef<string | undefined>(undefined);
  const prevHeight = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);
  const [newBelow, setNewBelow] = useState(false);
  useOlderOnScrollUp(scroller, sentinel, room, () => void chat.loadOlder(room));

  const setAtBottom = (value: boolean) => {
    atBottom.current = value;
    room.atLatest = value;
  };

  const scrollToBottom = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    setAtBottom(true);
    setNewBelow(false);
  };

  // A new room starts at its newest message.
  useLayoutEffect(() => {
    prevCount.current = 0;
    scrollToBottom();
  }, [room.id]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const count = messages.length + pending.length;
    const first = messages[0]?.id;
    if (first !== prevFirst.current && prevFirst.current !== undefined && messages.length > 0 && !atBottom.current) {
      // older messages were added above: keep what the reader was looking at in place
      el.scrollTop += el.scrollHeight - prevHeight.current;
    } else if (count > prevCount.current) {
      if (atBottom.current || pending.length > 0) scrollToBottom();
      else setNewBelow(true);
    }
    prevCount.current = count;
    prevFirst.current = first;
    prevHeight.current = el.scrollHeight;
  }, [messages, pending]);

  // A message brought into view (a reply's quote was clicked): centred, focused, highlighted a moment.
  useEffect(() => {
    if (!highlight) return;
    const item = scroller.current?.querySelector<HTMLElement>(`li[data-id="${highlight}"]`);
    if (!item) return;
    setAtBottom(false);
    item.scrollIntoView({ block: 'center' });
    item.focus({ preventScroll: true });
    const t = setTimeout(() => {
      if (room.highlight.peek() === highlight) room.highlight.value = null;
    }, HIGHLIGHT_MS);
    return () => clearTimeout(t);
  }, [highlight]);

  const onScroll = () => {
    const el = scroller.current!;
    setAtBottom(el.scrollHeight - el.scrollTop - el.clientHeight < 48);
    prevHeight.current = el.scrollHeight;
    if (atBottom.current) {
      setNewBelow(false);
      chat.markRead(room);
    }
  };

  const items = [];
  let prev: Message | undefined;
  for (const m of messages) {
    if (!prev || dayKey(prev.at) !== dayKey(m.at)) {
      items.push(
        <li key={`day-${dayKey(m.at)}`} class="day">
          <h2>{dayLabel(m.at)}</h2>
        </li>,
      );
    }
    if (m.timer !== undefined && !m.deleted) {
      items.push(<Announcement key={m.id} m={m} me={me} />);
      prev = m;
      continue;
    }
    items.push(
      <MessageItem
        key={m.id}
        room={room}
        m={m}
        me={me}
        first={startsGroup(m, prev)}
        quote={quoteOf(m, messages)}
        editing={editing === m.id}
        highlight={highlight === m.id}
        seen={seenId === m.id}
      />,
    );
    prev = m;
  }

  return (
    <div class="messages-wrap">
      <div
        class="messages"
        ref={scroller}
        onScroll={onScroll}
        tabIndex={0}
        role="region"
        aria-label={`Messages in ${room.label}`}
      >
        <div ref={sentinel} class="older-sentinel" aria-hidden="true" />
        {room.hasOlder.value && (
          <div class="older">
            <button type="button" class="btn small ghost" onClick={() => chat.loadOlder(room)} disabled={room.loadingOlder.value}>
              {room.loadingOlder.value ? 'Loading…' : 'Load earlier messages'}
            </button>
          </div>
        )}
        {messages.length === 0 && pending.length === 0 && room.synced.value && <EmptyRoom room={room} />}
        {!room.synced.value && messages.length === 0 && <p class="empty">Loading messages…</p>}
        <ol class="message-list">
          {items}
          {pending.map((p) => (
            <PendingItem key={p.clientId} p={p} />
          ))}
        </ol>
      </div>
      {newBelow && (
        <button type="button" class="jump" onClick={scrollToBottom}>
          <ArrowDownIcon /> New messages
        </button>
      )}
    </div>
  );
}

/** A change of the room's disappearing-messages timer, as a line in the timeline. */
function Announcement({ m, me }: { m: Message; me: string }) {
  return (
    <li class="timer-notice" data-id={m.id} tabIndex={-1}>
      <p>
        <TimerIcon size={14} />
        <span>
          {m.from === me ? 'You' : <PersonName username={m.from} />}
          {announcement(m.timer || null)}
        </span>
        <time dateTime={m.at} title={fullTimeLabel(m.at)}>
          {timeLabel(m.at)}
        </time>
      </p>
    </li>
  );
}

function EmptyRoom({ room }: { room: RoomState }) {
  return (
    <div class="empty">
      <p class="empty-title">{room.kind === 'dm' ? `This is the start of your conversation with ${room.name}.` : `Welcome to ${room.label}!`}</p>
      <p>{room.kind === 'dm' ? 'Only the two of you can read it.' : 'No messages yet. Say hello to get it going.'}</p>
    </div>
  );
}
