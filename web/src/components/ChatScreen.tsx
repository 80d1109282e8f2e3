// The chat: a top bar, a sidebar of rooms and people (a drawer on a phone), and
// the open room.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RoomState } from '../chat.js';
import { nextTheme, theme, type ThemeChoice } from '../theme.js';
import { AccountDialog } from './Account.js';
import { Composer } from './Composer.js';
import { ConfirmDialog } from './Dialog.js';
import { BrowseChannels, ManageChannel } from './Channels.js';
import { describeError } from './Field.js';
import { useChat } from './context.js';
import {
  AutoIcon,
  BrandMark,
  CloseIcon,
  DoorIcon,
  HashIcon,
  AccountIcon,
  HelpIcon,
  LogoutIcon,
  MenuIcon,
  MoonIcon,
  PlusIcon,
  SunIcon,
  TimerIcon,
  TrashIcon,
} from './icons.js';
import { describeTimer } from '../../../functions/core/timers.js';
import { Avatar, MessageList } from './MessageList.js';
import { PersonName } from './Person.js';
import { SearchBox } from './Search.js';

export function ChatScreen() {
  const chat = useChat();
  const [drawer, setDrawer] = useState(false);
  const room = chat.activeRoom.value;

  // Alt+↑ / Alt+↓ move between rooms; Escape closes the drawer. The listener reads
  // the drawer's state through a ref: one added again after each change would
  // miss an Escape pressed before the effect ran (a busy page), and the drawer
  // would stay open.
  const drawerOpen = useRef(drawer);
  drawerOpen.current = drawer;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        const rooms = chat.rooms.peek();
        const at = rooms.findIndex((r) => r.id === chat.activeId.peek());
        const next = rooms[(at + (e.key === 'ArrowDown' ? 1 : rooms.length - 1)) % rooms.length];
        if (next) {
          e.preventDefault();
          chat.open(next.id);
        }
      } else if (e.key === 'Escape' && drawerOpen.current) setDrawer(false);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const go = (id: string) => {
    chat.open(id);
    setDrawer(false);
  };

  return (
    <div class={`chat-layout${drawer ? ' drawer-open' : ''}`}>
      <a class="skip-link" href="#composer-input">
        Skip to the message box
      </a>
      <header class="topbar">
        <button
          type="button"
          class="icon-btn only-narrow"
          aria-label={chat.totalUnread.value ? `Rooms and people, ${chat.totalUnread.value} unread` : 'Rooms and people'}
          aria-expanded={drawer}
          aria-controls="sidebar"
          onClick={() => setDrawer(!drawer)}
        >
          <MenuIcon />
          {chat.totalUnread.value > 0 && <span class="dot" aria-hidden="true" />}
        </button>
        <div class="brand">
          <BrandMark />
          <span class="brand-name">Wild Whispers</span>
        </div>
        <SearchBox />
        <ConnectionStatus />
        <div class="topbar-actions">
          {chat.safety.admin.value && (
            <button
              type="button"
              class="btn small ghost"
              aria-label={chat.safety.reports.value.length ? `Reports, ${chat.safety.reports.value.length} open` : 'Reports'}
              onClick={() => {
                chat.safety.reportsOpen.value = true;
                void chat.safety.loadReports().catch(() => {});
              }}
            >
              Reports{chat.safety.reports.value.length > 0 && <span aria-hidden="true"> ({chat.safety.reports.value.length})</span>}
            </button>
          )}
          <ThemeToggle />
          <button type="button" class="icon-btn" aria-label="Account" onClick={() => (chat.accountOpen.value = true)}>
            <AccountIcon />
          </button>
          <button type="button" class="icon-btn" aria-label="Help" onClick={() => (chat.helpOpen.value = true)}>
            <HelpIcon />
          </button>
        </div>
      </header>
      <AccountDialog />
      <Sidebar onPick={go} onClose={() => setDrawer(false)} />
      <div class="scrim" aria-hidden="true" onClick={() => setDrawer(false)} />
      <main class="room" aria-labelledby="room-title">
        {room ? <RoomView key={room.id} room={room} /> : <p class="empty">Loading your rooms…</p>}
      </main>
    </div>
  );
}

const THEME_LABEL: Record<ThemeChoice, string> = { system: 'system', light: 'light', dark: 'dark' };

function ThemeToggle() {
  const current = theme.value;
  const next = nextTheme(current);
  return (
    <button
      type="button"
      class="icon-btn"
      aria-label={`Theme: ${THEME_LABEL[current]}. Switch to ${THEME_LABEL[next]}`}
      title={`Theme: ${THEME_LABEL[current]}`}
      onClick={() => (theme.value = next)}
    >
      {current === 'system' ? <AutoIcon /> : current === 'light' ? <SunIcon /> : <MoonIcon />}
    </button>
  );
}

/** While the server cannot be reached: what is shown is this device's copy, and what is written waits. */
function OfflineNote() {
  const chat = useChat();
  // the chat screen shows before the socket opens only from the device's cache
  if (chat.conn.status.value === 'open') return null;
  return (
    <p class="notice offline-note" role="status">
      You are offline. These are the messages saved on this device; what you write is kept here and sent when you are back online.
    </p>
  );
}

function ConnectionStatus() {
  const chat = useChat();
  const status = chat.conn.status.value;
  const retryAt = chat.conn.retryAt.value;
  const [, tick] = useState(0);
  useEffect(() => {
    if (status !== 'waiting') return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [status]);
  const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
  const label = status === 'open' ? 'Connected' : status === 'waiting' ? 'Offline' : 'Connecting…';
  return (
    <div class={`conn ${status}`}>
      <span class="conn-dot" aria-hidden="true" />
      <span role="status" class="conn-label">
        {label}
      </span>
      {status === 'waiting' && (
        <>
          <span class="conn-retry" aria-hidden="true">
            retrying in {seconds}s
          </span>
          <button type="button" class="btn small ghost" onClick={() => chat.conn.reconnectNow()}>
            Retry now
          </button>
        </>
      )}
    </div>
  );
}

function RoomButton({ room, onPick }: { room: RoomState; onPick: (id: string) => void }) {
  const chat = useChat();
  const active = chat.activeId.value === room.id;
  const unread = room.unread.value;
  const mentions = room.mentions.value;
  const known = chat.presenceKnown.value;
  const online = room.kind === 'dm' && known && chat.online.value.has(room.name);
  const away = online && chat.away.value.has(room.name);
  const presence = room.kind !== 'dm' ? '' : !known ? 'presence unknown' : away ? 'away' : online ? 'online' : 'offline';
  const shown = room.kind === 'channel' ? room.displayName.value : room.name;
  const label = [shown, presence, unread ? `${unread} unread` : '', mentions ? `${mentions} ${mentions === 1 ? 'mention' : 'mentions'}` : '']
    .filter(Boolean)
    .join(', ');
  return (
    <li>
      <button
        type="button"
        class={`room-btn${active ? ' active' : ''}${unread ? ' has-unread' : ''}`}
        aria-current={active ? 'page' : undefined}
        aria-label={label}
        onClick={() => onPick(room.id)}
      >
        {room.kind === 'channel' ? (
          <span class="room-icon" aria-hidden="true">
            <HashIcon />
          </span>
        ) : (
          <span class="presence-wrap" aria-hidden="true">
            <Avatar name={room.name} size="sm" />
            <PresenceDot online={online} away={away} known={known} />
          </span>
        )}
        <span class="room-name">{shown}</span>
        {mentions > 0 && (
          <span class="badge mention" data-count={`@${mentions > 99 ? '99+' : mentions}`} aria-hidden="true" />
        )}
        {unread > 0 && (
          <span class="badge" data-count={unread > 99 ? '99+' : String(unread)} aria-hidden="true" />
        )}
      </button>
    </li>
  );
}

/** Green online, amber half-moon away (E25), grey offline, a hollow ring while unknown (offline, or catching up). */
function PresenceDot({ online, away = false, known }: { online: boolean; away?: boolean; known: boolean }) {
  return <span class={`presence${!known ? ' unknown' : online ? ' on' : ''}${known && online && away ? ' away' : ''}`} />;
}

/** What a person's presence says in words, for screen readers and titles. */
function presenceWords(known: boolean, online: boolean, away: boolean): string {
  return !known ? 'presence unknown while offline' : online && away ? 'away' : online ? 'online' : 'offline';
}

function InlineForm({
  id,
  label,
  placeholder,
  submitLabel,
  action,
}: {
  id: string;
  label: string;
  placeholder: string;
  submitLabel: string;
  action: (value: string) => Promise<void>;
}) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="inline-form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        if (!value.trim()) return;
        setBusy(true);
        setError(null);
        try {
          await action(value);
          setValue('');
          // done: fold the box away again (the <details> it sits in)
          form.closest('details')?.removeAttribute('open');
        } catch (err) {
          setError(describeError(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <label for={id}>{label}</label>
      <div class="input-with-button">
        <input
          id={id}
          value={value}
          placeholder={placeholder}
          autocomplete="off"
          autocapitalize="none"
          spellcheck={false}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit" class="btn small" disabled={busy}>
          {submitLabel}
        </button>
      </div>
      {error && (
        <p id={`${id}-error`} class="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Sidebar({ onPick, onClose }: { onPick: (id: string) => void; onClose: () => void }) {
  const chat = useChat();
  const me = chat.me.value!;
  const rooms = chat.rooms.value;
  const channels = rooms.filter((r) => r.kind === 'channel');
  const dms = rooms.filter((r) => r.kind === 'dm');
  const online = chat.online.value;
  const away = chat.away.value;
  const known = chat.presenceKnown.value;
  const people = chat.people.value;
  const onlineCount = people.filter((p) => online.has(p)).length;
  const [confirm, setConfirm] = useState<null | 'purge'>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const openDm = async (name: string) => {
    await chat.openDm(name);
    onClose();
  };

  return (
    <nav id="sidebar" class="sidebar" aria-label="Rooms and people">
      <div class="sidebar-head only-narrow">
        <span>Rooms and people</span>
        <button type="button" class="icon-btn" aria-label="Close the room list" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      <div class="sidebar-scroll">
        <section aria-labelledby="channels-title">
          <h2 id="channels-title">Channels</h2>
          <ul class="room-list">
            {channels.map((r) => (
              <RoomButton key={r.id} room={r} onPick={onPick} />
            ))}
          </ul>
          <details class="add">
            <summary>
              <PlusIcon /> Join or create a channel
            </summary>
            <InlineForm
              id="join-channel"
              label="Channel name"
              placeholder="e.g. book-club"
              submitLabel="Join"
              action={async (v) => {
                await chat.joinChannel(v);
                onClose();
              }}
            />
          </details>
          <BrowseChannels onJoined={onClose} />
        </section>
        <section aria-labelledby="dms-title">
          <h2 id="dms-title">Direct messages</h2>
          {dms.length > 0 ? (
            <ul class="room-list">
              {dms.map((r) => (
                <RoomButton key={r.id} room={r} onPick={onPick} />
              ))}
            </ul>
          ) : (
            <p class="side-note">Pick someone below to start a private conversation.</p>
          )}
          <details class="add">
            <summary>
              <PlusIcon /> Message someone by name
            </summary>
            <InlineForm
              id="open-dm"
              label="Their username"
              placeholder="username"
              submitLabel="Open"
              action={openDm}
            />
          </details>
        </section>
        <section aria-labelledby="people-title">
          <h2 id="people-title">
            People{' '}
            <span class="count">
              {known ? (
                `${onlineCount} online`
              ) : (
                <>
                  <span aria-hidden="true">—</span>
                  <span class="sr-only">presence unknown while offline</span>
                </>
              )}
            </span>
          </h2>
          {people.length === 0 ? (
            <p class="side-note">Nobody else is here yet. Invite a friend!</p>
          ) : (
            <ul class="people">
              {people.map((u) => (
                <li key={u}>
                  <button
                    type="button"
                    class="person"
                    aria-label={`${chat.profiles.label(u)}, ${presenceWords(known, online.has(u), away.has(u))}. Send a direct message`}
                    onClick={() => void openDm(u).catch((err) => chat.showToast(describeError(err), true))}
                  >
                    <span class="presence-wrap" aria-hidden="true">
                      <Avatar name={u} size="sm" />
                      <PresenceDot online={online.has(u)} away={away.has(u)} known={known} />
                    </span>
                    <PersonName username={u} class="person-name" />

                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <footer class="account">
        <div class="me">
          <Avatar name={me.username} />
          <div>
            <div class="me-name">{me.displayName}</div>
            <div class="me-handle">Signed in as {me.username}</div>
          </div>
        </div>
        <div class="account-actions">
          <button type="button" class="btn small ghost" onClick={() => setConfirm('purge')}>
            <TrashIcon /> Delete my messages
          </button>
          <button type="button" class="btn small ghost" onClick={() => void chat.logout()}>
            <LogoutIcon /> Log out
          </button>
        </div>
      </footer>
      <ConfirmDialog
        open={confirm === 'purge'}
        title="Delete all your messages?"
        confirmLabel={busy ? 'Deleting…' : 'Delete my messages'}
        danger
        busy={busy}
        error={error}
        onCancel={() => {
          setConfirm(null);
          setError(null);
        }}
        onConfirm={async () => {
          setBusy(true);
          setError(null);
          try {
            await chat.deleteMyMessages();
            setConfirm(null);
          } catch (err) {
            setError(describeError(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <p>
          Every message you have sent, in every channel and conversation, is removed for everyone, right away. This cannot be
          undone.
        </p>
      </ConfirmDialog>
    </nav>
  );
}

/**
 * The room's disappearing-messages timer, for those who may set it (either
 * person of a DM, a channel's creator): a labelled select; a change is announced
 * in the room.
 */
function TimerControl({ room }: { room: RoomState }) {
  const chat = useChat();
  const [busy, setBusy] = useState(false);
  const id = `timer-${room.id}`;
  const current = room.disappearAfter.value;
  const choices = chat.timers.value;
  return (
    <div class="timer-control">
      <label for={id}>
        <TimerIcon /> <span class="timer-label">Disappearing messages</span>
      </label>
      <select
        id={id}
        value={current === null ? 'off' : String(current)}
        disabled={busy}
        onChange={async (e) => {
          const value = (e.currentTarget as HTMLSelectElement).value;
          setBusy(true);
          try {
            await chat.setTimer(room, value === 'off' ? null : Number(value));
          } catch (err) {
            chat.showToast(describeError(err), true);
          } finally {
            setBusy(false);
          }
        }}
      >
        <option value="off">Off</option>
        {/* a timer set elsewhere that this list lacks still shows */}
        {current !== null && !choices.includes(current) && <option value={String(current)}>{describeTimer(current)}</option>}
        {choices.map((s) => (
          <option key={s} value={String(s)}>
            {describeTimer(s)}
          </option>
        ))}
      </select>
    </div>
  );
}

function RoomView({ room }: { room: RoomState }) {
  const chat = useChat();
  const online = chat.online.value;
  const known = chat.presenceKnown.value;
  const members = room.members.value;
  // *(E23)* the server's count where it has given one: this tab watches only the people it shows
  const here = chat.onlineCounts.value.get(room.id) ?? members.filter((m) => online.has(m)).length;
  const [confirmLeave, setConfirmLeave] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const canLeave = room.kind === 'channel' && room.id !== 'general';

  // Looking at a room reads it.
  useEffect(() => {
    const onVisible = () => document.visibilityState === 'visible' && chat.markRead(room);
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [room]);

  return (
    <>
      <header class="room-header">
        <div class="room-title">
          {room.kind === 'channel' ? (
            <span class="room-icon big" aria-hidden="true">
              <HashIcon size={20} />
            </span>
          ) : (
            <Avatar name={room.name} />
          )}
          <div>
            <h1 id="room-title">{room.kind === 'dm' ? <PersonName username={room.name} /> : room.displayName.value}</h1>
            <p class="room-sub">
              {room.kind === 'dm'
                ? `Direct message · ${!known ? 'presence unknown' : online.has(room.name) && chat.away.value.has(room.name) ? 'away' : online.has(room.name) ? 'online' : 'offline'}${chat.profiles.get(room.name)?.status ? ` · ${chat.profiles.get(room.name)!.status}` : ''}`
                : `${members.length} ${members.length === 1 ? 'member' : 'members'} · ${known ? `${here} online` : 'presence unknown'}`}
              {room.isPrivate.value && ' · private'}
              {room.disappearAfter.value !== null && (
                <span class="room-timer">
                  {' · '}
                  <TimerIcon size={13} /> Messages disappear after {describeTimer(room.disappearAfter.value)}
                </span>
              )}
            </p>
            {room.topic.value && <p class="room-sub room-topic">{room.topic.value}</p>}
          </div>
        </div>
        {chat.canSetTimer(room) && <TimerControl room={room} />}
        <ManageChannel room={room} />
        {canLeave && (
          <button type="button" class="btn small ghost" onClick={() => setConfirmLeave(true)}>
            <DoorIcon /> Leave<span class="sr-only"> {room.label}</span>
          </button>
        )}
      </header>
      <OfflineNote />
      <MessageList room={room} />
      <Composer room={room} />
      {canLeave && (
        <ConfirmDialog
          open={confirmLeave}
          title={`Leave ${room.label}?`}
          confirmLabel="Leave channel"
          busy={busy}
          error={error}
          onCancel={() => {
            setConfirmLeave(false);
            setError(null);
          }}
          onConfirm={async () => {
            setBusy(true);
            try {
              await chat.leave(room.id);
            } catch (err) {
              setError(describeError(err));
              setBusy(false);
            }
          }}
        >
          <p>You stop receiving its messages. You can join again at any time, and your messages stay.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
