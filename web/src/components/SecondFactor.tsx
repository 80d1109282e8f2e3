// The login's second step (E19): after the right password for an account with
// two-factor authentication, a code from the authenticator app or a recovery code.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useChat } from './context.js';
import { Field, describeError } from './Field.js';
import { BrandMark } from './icons.js';

export function SecondFactorScreen() {
  const chat = useChat();
  const step = chat.secondFactorStep.value;
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => inputRef.current?.focus(), []);
  if (!step) return null;

  const submit = async (e: Event) => {
    e.preventDefault();
    const typed = code.trim();
    if (typed.replace(/[\s-]/g, '').length < 6) {
      setError('Enter the 6 digits the authenticator app shows, or a recovery code.');
      inputRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await chat.finishSecondFactor(/^\d[\d\s]{5,}$/.test(typed) ? typed.replace(/\s/g, '') : typed);
    } catch (err) {
      setError(describeError(err));
      setCode('');
      inputRef.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="welcome single">
      <main class="auth-card" aria-labelledby="second-factor-title">
        <div class="brand">
          <BrandMark />
          <span>Wild Whispers</span>
        </div>
        <h1 id="second-factor-title">Two-factor authentication</h1>
        <p class="lead">
          Enter the code your authenticator app shows for <strong>{step.username}</strong>. Lost your phone? Use one of your
          recovery codes instead.
        </p>
        <form class="auth-form" onSubmit={submit} noValidate aria-label="Two-factor code">
          <Field
            id="second-factor-code"
            label="Authentication code"
            hint="6 digits from the app, or a recovery code like abcde-12345"
            autocomplete="one-time-code"
            autocapitalize="none"
            spellcheck={false}
            maxLength={32}
            class="code-input"
            inputRef={inputRef}
            value={code}
            error={error}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
          <button type="submit" class="btn primary block" disabled={busy} aria-busy={busy}>
            {busy ? 'Checking…' : 'Log in'}
          </button>
        </form>
        <div class="row-actions">
          <button type="button" class="btn link" onClick={() => chat.backToWelcome()}>
            Start again
          </button>
        </div>
      </main>
    </div>
  );
}
