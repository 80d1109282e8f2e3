// Channel directory and moderation (E21): "Browse channels" in the sidebar opens
// a dialog with a search box and the public channels (topic, member count, a
// Join button); "Manage channel" in a channel's header opens its settings: the
// topic, name and privacy (owner and moderators), inviting someone (any member),
// and per member: make or unmake moderator (owner), remove, ban; the bans, each
// with Unban.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DirectoryChannel, RoomState } from '../chat.js';
import { Dialog } from './Dialog.js';
import { describeError } from './Field.js';
import { useChat } from './context.js';

/** Quiet time after a keystroke before the directory is asked. */
const DEBOUNCE_MS = 250;

export function BrowseChannels({ onJoined }: { onJoined: () => void }) {
  const chat = useChat();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState('');
  const [page, setPage] = useState<{ channels: DirectoryChannel[]; hasMore: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(0);

  const load = async (q: string, after?: string) => {
    const n = ++latest.current;
    try {
      const got = await chat.directory(q.trim(), after);
      if (n !== latest.current) return;
      setPage((before) => (after && before ? { channels: [...before.channels, ...got.channels], hasMore: got.hasMore } : got));
      setError(null);
    } catch (err) {
      if (n === latest.current) setError(describeError(err));
    }
  };

  useEffect(() => {
    if (!open) return;
    const t = setTimeout(() => void load(query), DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [query, open]);

  return (
    <>
      <button type="button" class="btn small ghost browse-channels" onClick={() => setOpen(true)}>
        Browse channels
      </button>
      <Dialog open={open} onClose={() => setOpen(false)} title="Browse channels">
        <label for="directory-search">Search channels</label>
        <input
          id="directory-search"
          type="search"
          value={query}
          placeholder="Name or topic"
          autocomplete="off"
          spellcheck={false}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
        {page && page.channels.length === 0 && <p role="status">{query.trim() ? 'No public channel matches.' : 'No public channels yet.'}</p>}
        {page && page.channels.length > 0 && (
          <ul class="directory" aria-label="Public channels">
            {page.channels.map((c) => (
              <li key={c.id}>
                <div>
                  <strong>#{c.name}</strong>{' '}
                  <span class="room-sub">
                    {c.memberCount} {c.memberCount === 1 ? 'member' : 'members'}
                  </span>
                  {c.topic && <p class="room-sub">{c.topic}</p>}
                </div>
                {c.joined ? (
                  <button
                    type="button"
                    class="btn small ghost"
                    onClick={() => {
                      chat.open(c.id);
                      setOpen(false);
                      onJoined();
                    }}
                  >
                    Open<span class="sr-only"> #{c.name}</span>
                  </button>
                ) : (
                  <button
                    type="button"
                    class="btn small"
                    onClick={async () => {
                      try {
                        await chat.joinListed(c.id);
                        setOpen(false);
                        onJoined();
                      } catch (err) {
                        setError(describeError(err));
                      }
                    }}
                  >
                    Join<span class="sr-only"> #{c.name}</span>
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        {page?.hasMore && (
          <button type="button" class="btn small ghost" onClick={() => void load(query, page.channels.at(-1)?.name)}>
            More channels
          </button>
        )}
      </Dialog>
    </>
  );
}

/** One labelled text box with its button, reporting its own error. */
function ActionField({
  id,
  label,
  initial = '',
  submitLabel,
  action,
}: {
  id: string;
  label: string;
  initial?: string;
  submitLabel: string;
  action: (value: string) => Promise<void>;
}) {
  const [value, setValue] = useState(initial);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  return (
    <form
      class="inline-form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await action(value);
          setNote({ text: 'Done.', error: false });
        } catch (err) {
          setNote({ text: describeError(err), error: true });
        }
      }}
    >
      <label for={id}>{label}</label>
      <div class="input-with-button">
        <input id={id} value={value} autocomplete="off" spellcheck={false} onInput={(e) => setValue(e.currentTarget.value)} />
        <button type="submit" class="btn small">
          {submitLabel}
        </button>
      </div>
      {note && (
        <p class={note.error ? 'field-error' : 'room-sub'} role={note.error ? 'alert' : 'status'}>
          {note.text}
        </p>
      )}
    </form>
  );
}

export function ManageChannel({ room }: { room: RoomState }) {
  const chat = useChat();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [bans, setBans] = useState<{ user: string; by?: string }[] | null>(null);
  const me = chat.me.value?.username;
  const role = room.role.value;
  const moderates = chat.canModerate(room);
  const general = room.id === 'general';
  const run = async (task: () => Promise<void>) => {
    setError(null);
    try {
      await task();
      if (moderates && !general) setBans(await chat.bans(room));
    } catch (err) {
      setError(describeError(err));
    }
  };
  useEffect(() => {
    if (open && moderates && !general) void chat.bans(room).then(setBans, () => setBans(null));
  }, [open]);
  if (room.kind !== 'channel' || (general && !moderates)) return null;

  return (
    <>
      <button type="button" class="btn small ghost" onClick={() => setOpen(true)}>
        Manage channel<span class="sr-only"> {room.label}</span>
      </button>
      <Dialog open={open} onClose={() => setOpen(false)} title={`Manage ${room.label}`}>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
        {moderates && (
          <ActionField id="channel-topic" label="Topic" initial={room.topic.value} submitLabel="Save topic" action={(topic) => chat.updateRoom(room, { topic })} />
        )}
        {moderates && !general && (
          <>
            <ActionField id="channel-name" label="Channel name" initial={room.displayName.value} submitLabel="Rename" action={(name) => chat.updateRoom(room, { name })} />
            <label class="check">
              <input type="checkbox" checked={room.isPrivate.value} onChange={(e) => void run(() => chat.updateRoom(room, { private: e.currentTarget.checked }))} />
              Private: not listed, joined only by invitation
            </label>
          </>
        )}
        {!general && <ActionField id="channel-invite" label="Invite someone (username)" submitLabel="Invite" action={(user) => chat.moderate(room, 'invite', user)} />}
        {moderates && !general && (
          <section aria-labelledby="manage-members-title">
            <h2 id="manage-members-title">Members</h2>
            <ul class="manage-members">
              {room.members.value
                .filter((u) => u !== me)
                .map((u) => (
                  <li key={u}>
                    <span>{u}</span>
                    {role === 'owner' && (
                      <>
                        <button type="button" class="btn small ghost" onClick={() => void run(() => chat.moderate(room, 'moderator', u))}>
                          Make moderator<span class="sr-only"> {u}</span>
                        </button>
                        <button type="button" class="btn small ghost" onClick={() => void run(() => chat.moderate(room, 'member', u))}>
                          Unmake moderator<span class="sr-only"> {u}</span>
                        </button>
                      </>
                    )}
                    <button type="button" class="btn small ghost" onClick={() => void run(() => chat.moderate(room, 'kick', u))}>
                      Remove<span class="sr-only"> {u}</span>
                    </button>
                    <button type="button" class="btn small ghost danger" onClick={() => void run(() => chat.moderate(room, 'ban', u))}>
                      Ban<span class="sr-only"> {u}</span>
                    </button>
                  </li>
                ))}
            </ul>
            <h2>Banned</h2>
            {bans && bans.length === 0 && <p class="room-sub">Nobody is banned.</p>}
            <ul class="manage-members">
              {(bans ?? []).map((b) => (
                <li key={b.user}>
                  <span>{b.user}</span>
                  <button type="button" class="btn small ghost" onClick={() => void run(() => chat.moderate(room, 'unban', b.user))}>
                    Unban<span class="sr-only"> {b.user}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </Dialog>
    </>
  );
}
