// The Account dialog's "Notifications" section (E24): when to be told by email of
// messages left unread, and whether those emails quote the text.
import { useState } from 'preact/hooks';
import type { NotifyLevel } from '../types.js';
import { describeError } from './Field.js';
import { useChat } from './context.js';

const CHOICES: Array<{ value: NotifyLevel; label: string }> = [
  { value: 'mentions', label: 'Direct messages and mentions' },
  { value: 'all', label: 'Every message in my rooms' },
  { value: 'off', label: 'Never' },
];

export function NotificationsSection() {
  const chat = useChat();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** what was asked for, shown until the server answers */
  const [asked, setAsked] = useState<{ notify?: NotifyLevel; quote?: boolean } | null>(null);
  const known = chat.notices.value;
  if (!known) return null; // a server without email notices
  const current = { ...known, ...asked };
  const change = async (want: { notify?: NotifyLevel; quote?: boolean }) => {
    setAsked(want);
    setBusy(true);
    setError(null);
    try {
      await chat.setNotices(want);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setAsked(null);
      setBusy(false);
    }
  };
  return (
    <section class="account-section" aria-labelledby="notifications-heading">
      <h3 id="notifications-heading">Email notifications</h3>
      <p class="hint" id="notifications-note">
        When you leave messages unread for a while, we send you one email about them, at most one an hour. Reading them first
        cancels it.
      </p>
      <fieldset class="setting-group" aria-describedby="notifications-note">
        <legend>Email me about</legend>
        {CHOICES.map((choice) => (
          <div class="setting" key={choice.value}>
            <input
              id={`notify-${choice.value}`}
              type="radio"
              name="notify"
              value={choice.value}
              checked={current.notify === choice.value}
              disabled={busy}
              onChange={() => void change({ notify: choice.value })}
            />
            <label for={`notify-${choice.value}`}>{choice.label}</label>
          </div>
        ))}
      </fieldset>
      <div class="setting">
        <input
          id="notify-quote"
          type="checkbox"
          checked={current.quote}
          disabled={busy || current.notify === 'off'}
          aria-describedby="notify-quote-note"
          onChange={(e) => void change({ quote: e.currentTarget.checked })}
        />
        <label for="notify-quote">Quote messages in emails</label>
        <p id="notify-quote-note" class="setting-note">
          Off: an email says only who wrote, and where. On: it also quotes the start of the newest message.
        </p>
      </div>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
