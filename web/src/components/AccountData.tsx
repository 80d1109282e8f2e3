// The Account dialog's "Your data" and "Delete account" sections (E20): a JSON
// file of everything one has, and deleting the account for good, after the
// password, with the choice of what becomes of one's messages.
import { useState } from 'preact/hooks';
import { exportAll } from '../profiles.js';
import { Field, describeError } from './Field.js';
import { useChat } from './context.js';

export function AccountData() {
  const chat = useChat();
  const me = chat.me.value!;
  const [exporting, setExporting] = useState<string | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [messages, setMessages] = useState<'keep' | 'erase'>('keep');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const download = async () => {
    setExportError(null);
    setExporting('Preparing your data…');
    try {
      const data = await exportAll(chat.conn, (n) => setExporting(`Preparing your data… (${n} ${n === 1 ? 'part' : 'parts'})`));
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `wild-whispers-${me.username}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExporting(`Downloaded: ${data.rooms.length} rooms, ${data.messages.length} messages.`);
    } catch (err) {
      setExporting(null);
      setExportError(describeError(err));
    }
  };

  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      // With two-factor authentication on, the server asks for a code too (E19).
      await chat.conn.request({ action: 'delete_account', password, messages, ...(me.twoFactor ? { code: code.trim() } : {}) });
      chat.accountDeleted('Your account was deleted.');
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <>
      <section class="account-section" aria-labelledby="data-title">
        <h3 id="data-title">Your data</h3>
        <p>A file of your profile, your rooms and every message you have sent, to keep or to take elsewhere.</p>
        <button type="button" class="btn" onClick={() => void download()} disabled={exporting?.startsWith('Preparing')}>
          Download my data
        </button>
        {exporting && (
          <p class="form-note" role="status">
            {exporting}
          </p>
        )}
        {exportError && (
          <p class="form-error" role="alert">
            {exportError}
          </p>
        )}
      </section>
      <section class="account-section danger-zone" aria-labelledby="delete-title">
        <h3 id="delete-title">Delete account</h3>
        <p>
          Your account goes for good: your email address, password, sessions, settings, files and profile. Your username
          cannot be taken by anyone for a while.
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void remove();
          }}
        >
          <fieldset class="choice">
            <legend>Your messages</legend>
            <label>
              <input type="radio" name="delete-messages" value="keep" checked={messages === 'keep'} onChange={() => setMessages('keep')} /> Keep them,
              shown as from “deleted user”
            </label>
            <label>
              <input type="radio" name="delete-messages" value="erase" checked={messages === 'erase'} onChange={() => setMessages('erase')} /> Delete
              them for everyone
            </label>
          </fieldset>
          <Field
            id="delete-password"
            label="Your password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
          />
          {me.twoFactor && (
            <Field
              id="delete-code"
              label="Code from your authenticator app, or a recovery code"
              autocomplete="one-time-code"
              required
              value={code}
              onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)}
            />
          )}
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" class="btn danger" disabled={busy || !password || (me.twoFactor === true && !code.trim())} aria-busy={busy}>
            Delete my account
          </button>
        </form>
      </section>
    </>
  );
}
