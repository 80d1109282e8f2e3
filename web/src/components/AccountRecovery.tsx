// Account recovery and devices (extension E18): the Account dialog's "Password
// and email" and "Devices" sections, and the login screen's "Forgot password?".
import { useEffect, useState } from 'preact/hooks';
import {
  changeEmail,
  changePassword,
  confirmEmail,
  forgotPassword,
  lastUsed,
  listSessions,
  resetPassword,
  revokeSessions,
  type SessionInfo,
} from '../account.js';
import { useChat } from './context.js';
import { Dialog } from './Dialog.js';
import { describeError, Field } from './Field.js';

const TOO_SHORT = 'Use at least 8 characters.';

/** A form's state: busy while a request is out, then an error or a done sentence. */
function useRequest() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (work: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const said = await work();
      if (said) setDone(said);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run, setError };
}

function Outcome({ error, done }: { error: string | null; done: string | null }) {
  return (
    <>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {done && (
        <p class="form-done" role="status">
          {done}
        </p>
      )}
    </>
  );
}

export function PasswordEmailSection() {
  return (
    <section aria-labelledby="account-password-email">
      <h3 id="account-password-email">Password and email</h3>
      <ChangePasswordForm />
      <ChangeEmailForm />
    </section>
  );
}

function ChangePasswordForm() {
  const chat = useChat();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const req = useRequest();
  const submit = (e: Event) => {
    e.preventDefault();
    if (!current || [...next].length < 8) return req.setError(!current ? 'Enter your current password.' : TOO_SHORT);
    void req.run(async () => {
      const others = await changePassword(chat, current, next);
      setCurrent('');
      setNext('');
      return others ? `Password changed. ${others} other ${others === 1 ? 'device was' : 'devices were'} logged out.` : 'Password changed.';
    });
  };
  return (
    <form class="auth-form" onSubmit={submit} noValidate aria-label="Change password">
      <Field id="account-current-password" label="Current password" type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      <Field
        id="account-new-password"
        label="New password"
        type="password"
        autocomplete="new-password"
        hint="At least 8 characters. Your other devices will be logged out."
        value={next}
        onInput={(e) => setNext(e.currentTarget.value)}
      />
      <Outcome error={req.error} done={req.done} />
      <button type="submit" class="btn primary" disabled={req.busy} aria-busy={req.busy}>
        Change password
      </button>
    </form>
  );
}

function ChangeEmailForm() {
  const chat = useChat();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const req = useRequest();
  const ask = (e: Event) => {
    e.preventDefault();
    if (!email.includes('@') || !password) return req.setError(!password ? 'Enter your password.' : 'Enter the new email address.');
    void req.run(async () => {
      const masked = await changeEmail(chat, password, email.trim());
      setPassword('');
      setSentTo(masked);
    });
  };
  const confirm = (e: Event) => {
    e.preventDefault();
    if (!/^\d{6}$/.test(code.trim())) return req.setError('The code is the 6 digits from the email.');
    void req.run(async () => {
      const now = await confirmEmail(chat, code.trim());
      setSentTo(null);
      setCode('');
      setEmail('');
      return `Your email is now ${now}. The old address was told.`;
    });
  };
  if (sentTo) {
    return (
      <form class="auth-form" onSubmit={confirm} noValidate aria-label="Confirm new email">
        <p>
          We sent a code to <strong>{sentTo}</strong>. Your email changes once you enter it.
        </p>
        <Field id="account-email-code" label="Code from the email" inputMode="numeric" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        <Outcome error={req.error} done={req.done} />
        <div class="form-actions">
          <button type="submit" class="btn primary" disabled={req.busy} aria-busy={req.busy}>
            Confirm email
          </button>
          <button type="button" class="btn ghost" onClick={() => setSentTo(null)}>
            Cancel
          </button>
        </div>
      </form>
    );
  }
  return (
    <form class="auth-form" onSubmit={ask} noValidate aria-label="Change email">
      <Field id="account-new-email" label="New email" type="email" autocomplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      <Field id="account-email-password" label="Password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      <Outcome error={req.error} done={req.done} />
      <button type="submit" class="btn primary" disabled={req.busy} aria-busy={req.busy}>
        Send code to new email
      </button>
    </form>
  );
}

export function DevicesSection() {
  const chat = useChat();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const req = useRequest();
  const load = () => req.run(async () => setSessions(await listSessions(chat)));
  useEffect(() => void load(), []);
  const end = (which: string | 'others', label: string) =>
    req.run(async () => {
      const n = await revokeSessions(chat, which);
      setSessions(await listSessions(chat));
      return which === 'others' ? `Logged out ${n} other ${n === 1 ? 'device' : 'devices'}.` : `Logged out ${label}.`;
    });
  const others = sessions?.filter((s) => !s.current) ?? [];
  return (
    <section aria-labelledby="account-devices">
      <h3 id="account-devices">Devices</h3>
      {sessions === null ? (
        <p>{req.error ? '' : 'Loading your devices…'}</p>
      ) : (
        <ul class="device-list" aria-label="Devices logged in">
          {sessions.map((s) => (
            <li key={s.id} class="device">
              <div>
                <strong>{s.device}</strong>
                {s.current && <span class="badge-current"> (this device)</span>}
                <div class="hint">
                  {s.lastIp ?? s.ip ?? 'unknown address'} · last used {lastUsed(s.lastUsedAt)}
                </div>
              </div>
              {!s.current && (
                <button type="button" class="btn ghost small" disabled={req.busy} onClick={() => void end(s.id, s.device)}>
                  Log out<span class="sr-only"> {s.device}, last used {lastUsed(s.lastUsedAt)}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <Outcome error={req.error} done={req.done} />
      {others.length > 0 && (
        <button type="button" class="btn danger" disabled={req.busy} onClick={() => void end('others', '')}>
          Log out all other devices
        </button>
      )}
    </section>
  );
}

/** The login screen's "Forgot password?": a code by email, then a new password, then logged in. */
export function ForgotPassword() {
  const chat = useChat();
  const [open, setOpen] = useState(false);
  const [login, setLogin] = useState('');
  const [step, setStep] = useState<'ask' | 'code'>('ask');
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const req = useRequest();
  const close = () => {
    setOpen(false);
    setStep('ask');
    setCode('');
    setPassword('');
  };
  const ask = (e: Event) => {
    e.preventDefault();
    if (!login.trim()) return req.setError('Enter your username or email.');
    void req.run(async () => {
      await forgotPassword(chat, login.trim());
      setStep('code');
    });
  };
  const reset = (e: Event) => {
    e.preventDefault();
    if (!/^\d{6}$/.test(code.trim())) return req.setError('The code is the 6 digits from the email.');
    if ([...password].length < 8) return req.setError(TOO_SHORT);
    void req.run(async () => {
      const who = login.trim();
      await resetPassword(chat, who, code.trim(), password);
      if (who.includes('@')) return 'Password changed. Log in with your username and the new password.';
      close();
      await chat.login({ username: who, password });
    });
  };
  return (
    <>
      <button type="button" class="btn link" onClick={() => setOpen(true)}>
        Forgot password?
      </button>
      <Dialog open={open} onClose={close} title="Reset your password">
        {step === 'ask' ? (
          <form class="auth-form" onSubmit={ask} noValidate aria-label="Send a reset code">
            <p>Enter your username or email. If it belongs to an account, we email that account a code.</p>
            <Field id="forgot-login" label="Username or email" autocomplete="username" autocapitalize="none" spellcheck={false} value={login} onInput={(e) => setLogin(e.currentTarget.value)} />
            <Outcome error={req.error} done={req.done} />
            <button type="submit" class="btn primary block" disabled={req.busy} aria-busy={req.busy}>
              Send code
            </button>
          </form>
        ) : (
          <form class="auth-form" onSubmit={reset} noValidate aria-label="Choose a new password">
            <p>If {login.trim()} has an account, a code is on its way to the account's email. It is valid for 10 minutes.</p>
            <Field id="forgot-code" label="Code from the email" inputMode="numeric" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            <Field
              id="forgot-password"
              label="New password"
              type="password"
              autocomplete="new-password"
              hint="At least 8 characters. Every device will be logged out."
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <Outcome error={req.error} done={req.done} />
            <button type="submit" class="btn primary block" disabled={req.busy} aria-busy={req.busy}>
              Set new password
            </button>
          </form>
        )}
      </Dialog>
    </>
  );
}
