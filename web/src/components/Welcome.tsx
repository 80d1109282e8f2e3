// The way in: sign up or log in, then the emailed code.
import { useEffect, useRef, useState } from 'preact/hooks';
import { USERNAME } from '../chat.js';
import { ServerError } from '../types.js';
import { describeError, Field } from './Field.js';
import { useChat } from './context.js';
import { BrandMark } from './icons.js';
import { ForgotPassword } from './AccountRecovery.js';

type Mode = 'signup' | 'login';

/** A page from this machine: only then is the server's outbox folder worth showing. */
const LOCAL = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);

const PASSWORD_TOO_SHORT = 'Use at least 8 characters.';

export function Welcome() {
  const chat = useChat();
  const note = chat.sessionNote.value;
  const [mode, setMode] = useState<Mode>(note ? 'login' : 'signup');
  return (
    <div class="welcome">
      <header class="welcome-intro">
        <div class="brand large">
          <BrandMark size={44} />
          <span>Wild Whispers</span>
        </div>
        <p class="tagline">Talk in channels, whisper in direct messages, and see who is around, in real time.</p>
        <ul class="perks">
          <li>
            <strong>Channels</strong> for every topic: join one or start your own by name.
          </li>
          <li>
            <strong>Direct messages</strong> with anyone, straight from the online list.
          </li>
          <li>
            <strong>Nothing lost</strong>: drop off the network and everything you missed is there when you are back.
          </li>
        </ul>
      </header>
      <main class="auth-card" aria-labelledby="auth-title">
        <h1 id="auth-title">{mode === 'signup' ? 'Create your account' : 'Welcome back'}</h1>
        {note && (
          <p class="notice" role="status">
            {note}
          </p>
        )}
        <div class="switch" role="group" aria-label="Sign up or log in">
          <button type="button" aria-pressed={mode === 'signup'} onClick={() => setMode('signup')}>
            Sign up
          </button>
          <button type="button" aria-pressed={mode === 'login'} onClick={() => setMode('login')}>
            Log in
          </button>
        </div>
        {mode === 'signup' ? <SignUpForm /> : <LoginForm />}
        <HelpLink />
      </main>
    </div>
  );
}

function HelpLink() {
  const chat = useChat();
  return (
    <p class="help-link">
      Questions?{' '}
      <button type="button" class="btn link" onClick={() => (chat.helpOpen.value = true)}>
        Help and answers
      </button>
    </p>
  );
}

type Errors = Partial<Record<'username' | 'email' | 'password' | 'invite' | 'form', string>>;

function SignUpForm() {
  const chat = useChat();
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [invite, setInvite] = useState('');
  const [needInvite, setNeedInvite] = useState(false);
  const [showPassword, setShowPassword] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const inviteRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (needInvite) inviteRef.current?.focus();
  }, [needInvite]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const found: Errors = {};
    if (!USERNAME.test(username.trim().toLowerCase())) found.username = 'Use 3 to 32 characters: letters, digits, _ . and -.';
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) found.email = 'Enter an email address like name@example.com.';
    if ([...password].length < 8) found.password = PASSWORD_TOO_SHORT;
    if (needInvite && !invite.trim()) found.invite = 'Enter the invite code you were given.';
    setErrors(found);
    if (Object.keys(found).length) {
      (document.getElementById(`signup-${Object.keys(found)[0]}`) as HTMLInputElement | null)?.focus();
      return;
    }
    setBusy(true);
    try {
      await chat.register({ username: username.trim(), email: email.trim(), password, invite: invite.trim() || undefined });
    } catch (err) {
      if (err instanceof ServerError && err.code === 'forbidden') {
        setNeedInvite(true);
        setErrors({ invite: invite ? 'That invite code is not valid.' : 'Signing up here needs an invite code.' });
      } else setErrors({ form: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="auth-form" onSubmit={submit} noValidate aria-label="Sign up">
      <Field
        id="signup-username"
        label="Username"
        hint="3 to 32 characters: letters, digits, _ . and -"
        autocomplete="username"
        autocapitalize="none"
        spellcheck={false}
        value={username}
        error={errors.username}
        onInput={(e) => setUsername(e.currentTarget.value)}
      />
      <Field
        id="signup-email"
        label="Email"
        hint="We send a 6-digit code here to confirm it is you."
        type="email"
        autocomplete="email"
        value={email}
        error={errors.email}
        onInput={(e) => setEmail(e.currentTarget.value)}
      />
      <PasswordField
        id="signup-password"
        value={password}
        onInput={setPassword}
        show={showPassword}
        onToggle={() => setShowPassword(!showPassword)}
        error={errors.password}
        autocomplete="new-password"
        hint="At least 8 characters. A few words make a strong one."
      />
      {needInvite && (
        <Field
          id="signup-invite"
          label="Invite code"
          hint="This server is invite-only. Ask whoever runs it for the code."
          autocomplete="off"
          inputRef={inviteRef}
          value={invite}
          error={errors.invite}
          onInput={(e) => setInvite(e.currentTarget.value)}
        />
      )}
      {errors.form && (
        <p class="form-error" role="alert">
          {errors.form}
        </p>
      )}
      <button type="submit" class="btn primary block" disabled={busy} aria-busy={busy}>
        {busy ? 'Creating your account…' : 'Create account'}
      </button>
    </form>
  );
}

function PasswordField(props: {
  id: string;
  value: string;
  onInput: (v: string) => void;
  show: boolean;
  onToggle: () => void;
  error?: string;
  hint?: string;
  autocomplete: string;
}) {
  const described = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={props.id}>Password</label>
      <div class="input-with-button">
        <input
          id={props.id}
          type={props.show ? 'text' : 'password'}
          autocomplete={props.autocomplete}
          value={props.value}
          aria-invalid={props.error ? 'true' : undefined}
          aria-describedby={described || undefined}
          onInput={(e) => props.onInput(e.currentTarget.value)}
        />
        <button type="button" class="btn ghost small" aria-pressed={props.show} onClick={props.onToggle}>
          {props.show ? 'Hide' : 'Show'}
          <span class="sr-only"> password</span>
        </button>
      </div>
      {props.hint && (
        <p id={`${props.id}-hint`} class="hint">
          {props.hint}
        </p>
      )}
      {props.error && (
        <p id={`${props.id}-error`} class="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

function LoginForm() {
  const chat = useChat();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [showPassword, setShowPassword] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError('Enter your username and password.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await chat.login({ username: username.trim(), password });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="auth-form" onSubmit={submit} noValidate aria-label="Log in">
      <Field
        id="login-username"
        label="Username"
        autocomplete="username"
        autocapitalize="none"
        spellcheck={false}
        value={username}
        onInput={(e) => setUsername(e.currentTarget.value)}
      />
      <PasswordField
        id="login-password"
        value={password}
        onInput={setPassword}
        show={showPassword}
        onToggle={() => setShowPassword(!showPassword)}
        autocomplete="current-password"
      />
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="btn primary block" disabled={busy} aria-busy={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
      <ForgotPassword />
    </form>
  );
}

export function CodeScreen() {
  const chat = useChat();
  const step = chat.codeStep.value;
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => inputRef.current?.focus(), []);
  if (!step) return null;

  const submit = async (e: Event) => {
    e.preventDefault();
    const digits = code.replace(/\D/g, '');
    if (digits.length !== 6) {
      setError('The code is the 6 digits from the email.');
      inputRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await chat.verify(digits);
    } catch (err) {
      setError(describeError(err));
      inputRef.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const resend = async () => {
    setBusy(true);
    setError(null);
    try {
      await chat.resendCode();
      setInfo('A new code is on its way. Only the newest code works.');
      setCode('');
      inputRef.current?.focus();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const minutes = Math.round(step.expiresIn / 60);
  return (
    <div class="welcome single">
      <main class="auth-card" aria-labelledby="code-title">
        <div class="brand">
          <BrandMark />
          <span>Wild Whispers</span>
        </div>
        <h1 id="code-title">Check your email</h1>
        <p class="lead">
          We sent a 6-digit code to <strong>{step.maskedEmail}</strong>. It works once, for {minutes} minutes.
        </p>
        {info && (
          <p class="notice" role="status">
            {info}
          </p>
        )}
        <form class="auth-form" onSubmit={submit} noValidate aria-label="Confirm your email">
          <Field
            id="code"
            label="Code from the email"
            inputMode="numeric"
            autocomplete="one-time-code"
            maxLength={12}
            class="code-input"
            inputRef={inputRef}
            value={code}
            error={error}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
          <button type="submit" class="btn primary block" disabled={busy} aria-busy={busy}>
            {busy ? 'Checking…' : 'Verify and continue'}
          </button>
        </form>
        {LOCAL && chat.outboxDir && (
          <p class="hint outbox-hint">
            Running the server on this computer without mail set up? The email is in its outbox folder,{' '}
            <code>{chat.outboxDir}</code>, and the code is printed in its console.
          </p>
        )}
        <div class="row-actions">
          <button type="button" class="btn link" onClick={resend} disabled={busy}>
            Send a new code
          </button>
          <button type="button" class="btn link" onClick={() => chat.backToWelcome()}>
            Use another account
          </button>
        </div>
        <HelpLink />
      </main>
    </div>
  );
}
