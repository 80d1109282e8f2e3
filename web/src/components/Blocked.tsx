// The Account dialog's "Blocked people" section (E22): who I blocked, each with
// Unblock, and a field to block someone by name.
import { useState } from 'preact/hooks';
import { describeError } from './Field.js';
import { useChat } from './context.js';

export function BlockedSection() {
  const chat = useChat();
  const blocks = [...chat.safety.blocks.value].sort();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="account-section" aria-labelledby="blocked-heading">
      <h3 id="blocked-heading">Blocked people</h3>
      <p class="hint">
        Nobody you block can send you direct messages, and you cannot send them any. Their messages in channels are collapsed and
        their presence is hidden. They are not told.
      </p>
      {blocks.length ? (
        <ul class="blocked-list" aria-label="Blocked people">
          {blocks.map((user) => (
            <li key={user}>
              <span>{user}</span>
              <button type="button" class="btn small" disabled={busy} aria-label={`Unblock ${user}`} onClick={() => void act(() => chat.safety.unblock(user))}>
                Unblock
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p>You have not blocked anyone.</p>
      )}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const user = name.trim().replace(/^@/, '').toLowerCase();
          if (user) void act(async () => {
            await chat.safety.block(user);
            setName('');
          });
        }}
      >
        <label for="block-name">Block someone by username</label>
        <input id="block-name" value={name} autocomplete="off" onInput={(e) => setName(e.currentTarget.value)} aria-describedby={error ? 'block-error' : undefined} />
        <button type="submit" class="btn small" disabled={busy || !name.trim()}>
          Block
        </button>
      </form>
      {error && (
        <p id="block-error" class="field-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
