// A room's messages: day separators, consecutive messages from one person
// grouped, mine on the other side, links clickable. Text is only ever rendered
// as text nodes: a message that looks like HTML shows as what it is.
import { Component, type ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { PendingSend, RoomState } from '../chat.js';
import { messageSegments, shorten } from '../linkify.js';
import { dayKey, dayLabel, fullTimeLabel, timeLabel } from '../time.js';
import type { Message } from '../types.js';
import { useChat } from './context.js';
import { ArrowDownIcon } from './icons.js';
import { useOlderOnScrollUp } from './older.js';

/** Within this gap, a person's messages share one header. */
const GROUP_MS = 5 * 60_000;

export function hue(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) % 360;
  return h;
}

export function Avatar({ name, size = 'md' }: { name: string; size?: 'sm' | 'md' }) {
  return (
    // the initial is CSS content: decoration, not part of any button's name
    <span
      class={`avatar ${size}`}
      style={{ '--hue': String(hue(name)) }}
      data-initial={[...name][0]?.toUpperCase()}
      aria-hidden="true"
    />
  );
}

/**
 * One message's text, linkified once (cached by text) and, when very long (many
 * lines or characters), shortened with "Show more": a message of 4,000 line
 * breaks is not 4,000 lines tall for everyone in the room. See messageSegments.
 */
function MessageText({ text }: { text: string }) {
  const [expanded, setExpanded] = useState(false);
  const segments = messageSegments(text);
  const short = shorten(segments);
  const shown = short && !expanded ? short : segments;
  return (
    <>
      <p class="msg-text" dir="auto">
        {shown.map((s, i) =>
          'href' in s ? (
            // dir="ltr" isolates the address from right-to-left text around it
            <a key={i} href={s.href} dir="ltr" target="_blank" rel="noopener noreferrer nofollow">
              {s.text}
            </a>
          ) : (
            s.text
          ),
        )}
        {short && !expanded && '…'}
      </p>
      {short && (
        <button type="button" class="msg-more" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show less' : 'Show more'}
        </button>
      )}
    </>
  );
}

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
      return render(props);
    }
  };
}

function startsGroup(m: Message, prev: Message | undefined): boolean {
  if (!prev || prev.from !== m.from || dayKey(prev.at) !== dayKey(m.at)) return true;
  return new Date(m.at).getTime() - new Date(prev.at).getTime() > GROUP_MS;
}

type ItemProps = { m: Message; me: string; first: boolean };

function MessageItemView({ m, me, first }: ItemProps) {
  const own = m.from === me;
  const who = own ? 'You' : m.from;
  return (
    <li class={`msg${own ? ' own' : ''}${first ? ' first' : ''}`} data-id={m.id}>
      {!own && (first ? <Avatar name={m.from} /> : <span class="avatar-space" aria-hidden="true" />)}
      <div class="bubble">
        {first ? (
          <div class="msg-meta">
            <span class="msg-from">{who}</span>
            <time dateTime={m.at} title={fullTimeLabel(m.at)}>
              {timeLabel(m.at)}
            </time>
          </div>
        ) : (
          <span class="sr-only">
            {who} at {timeLabel(m.at)}:{' '}
          </span>
        )}
        <MessageText text={m.text} />
      </div>
    </li>
  );
}

// Compared by content, not identity: a copy of a message (catch-up, a repeat) is the same message.
const MessageItem = memo(
  MessageItemView,
  (a, b) => a.m.id === b.m.id && a.m.text === b.m.text && a.m.from === b.m.from && a.m.at === b.m.at && a.me === b.me && a.first === b.first,
);

function PendingItem({ p }: { p: PendingSend }) {
  const chat = useChat();
  return (
    <li class={`msg own first pending${p.state === 'failed' ? ' failed' : ''}`}>
      <div class="bubble">
        <div class="msg-meta">
          <span class="msg-from">You</span>
          <span class="msg-state">{p.state === 'failed' ? 'Not sent' : 'Sending…'}</span>
        </div>
        <MessageText text={p.text} />
        {p.state === 'failed' && (
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
      </div>
    </li>
  );
}

export function MessageList({ room }: { room: RoomState }) {
  const chat = useChat();
  const me = chat.me.value!.username;
  const messages = room.messages.value;
  const pending = room.pending.value;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prevCount = useRef(0);
  const prevFirst = useRef<string | undefined>(undefined);
  const prevHeight = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);
  const [newBelow, setNewBelow] = useState(false);
  useOlderOnScrollUp(scroller, sentinel, room, () => void chat.loadOlder(room));

  const scrollToBottom = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    atBottom.current = true;
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

  const onScroll = () => {
    const el = scroller.current!;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
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
    items.push(<MessageItem key={m.id} m={m} me={me} first={startsGroup(m, prev)} />);
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

function EmptyRoom({ room }: { room: RoomState }) {
  return (
    <div class="empty">
      <p class="empty-title">{room.kind === 'dm' ? `This is the start of your conversation with ${room.name}.` : `Welcome to ${room.label}!`}</p>
      <p>{room.kind === 'dm' ? 'Only the two of you can read it.' : 'No messages yet. Say hello to get it going.'}</p>
    </div>
  );
}
