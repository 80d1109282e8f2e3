// The Account dialog's "Two-factor authentication" section (E19): set it up
// (a QR code of the otpauth:// URI, and the key as text to type instead), confirm
// with a first code, see the ten recovery codes once; later, new recovery codes
// or turning it off (password and a code).
import { encode } from 'uqr';
import { useState } from 'preact/hooks';
import { useChat } from './context.js';
import { Field, describeError } from './Field.js';

type Stage =
  | { kind: 'idle' }
  | { kind: 'setup'; secret: string; uri: string }
  | { kind: 'codes'; codes: string[]; fresh: boolean };

/** The key in groups of four, as apps show and people type it. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, '$1 ');

/**
 * A QR code drawn as an SVG path, generated here in the browser (no request
 * leaves the page with the secret); dark on a light square in every theme, with
 * a quiet zone, so phone cameras read it.
 */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { data } = encode(text, { ecc: 'M', border: 2 });
  const size = data.length;
  let d = '';
  data.forEach((row, y) => row.forEach((dark, x) => dark && (d += `M${x} ${y}h1v1h-1z`)));
  return (
    <svg class="qr-code" role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} width="200" height="200" shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

export function TwoFactorSection() {
  const chat = useChat();
  const on = chat.me.value?.twoFactor === true;
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (work: () => Promise<void>) => {
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

  const start = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const r = await chat.conn.request({ action: 'two_factor_setup', password });
      setCode('');
      setPassword('');
      setStage({ kind: 'setup', secret: String(r.secret), uri: String(r.uri) });
    });
  };

  const confirm = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const r = await chat.conn.request({ action: 'two_factor_enable', code: code.replace(/\s/g, '') });
      chat.noteTwoFactor(true);
      setCode('');
      setStage({ kind: 'codes', codes: r.recoveryCodes as string[], fresh: true });
    });
  };

  const regenerate = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const r = await chat.conn.request({ action: 'recovery_codes', code: code.trim() });
      setCode('');
      setStage({ kind: 'codes', codes: r.recoveryCodes as string[], fresh: false });
    });
  };

  const turnOff = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      await chat.conn.request({ action: 'two_factor_disable', password, code: code.trim() });
      chat.noteTwoFactor(false);
      setCode('');
      setPassword('');
      setStage({ kind: 'idle' });
      chat.showToast('Two-factor authentication is off.');
    });
  };

  return (
    <section class="account-section" aria-labelledby="two-factor-title">
      <h3 id="two-factor-title">Two-factor authentication</h3>
      {stage.kind === 'codes' ? (
        <>
          <p>
            {stage.fresh ? 'Two-factor authentication is on. ' : ''}
            Save these recovery codes somewhere safe now: each logs you in once without your phone, and they are not shown
            again.
          </p>
          <ul class="recovery-codes" aria-label="Recovery codes">
            {stage.codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button type="button" class="btn primary" onClick={() => setStage({ kind: 'idle' })}>
            I have saved them
          </button>
        </>
      ) : stage.kind === 'setup' ? (
        <>
          <p>Scan this QR code with an authenticator app, or type the key into it. Then enter the code the app shows.</p>
          <div class="two-factor-setup">
            <QrCode text={stage.uri} label="QR code to add this account to an authenticator app" />
            <p class="two-factor-key">
              <span id="two-factor-key-label">Key</span>{' '}
              <code aria-labelledby="two-factor-key-label" data-testid="two-factor-key">
                {grouped(stage.secret)}
              </code>
            </p>
          </div>
          <form class="auth-form" onSubmit={confirm} noValidate aria-label="Confirm two-factor authentication">
            <Field
              id="two-factor-enable-code"
              label="Code from the app"
              inputMode="numeric"
              autocomplete="one-time-code"
              maxLength={12}
              value={code}
              error={error}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
            <div class="row-actions">
              <button type="submit" class="btn primary" disabled={busy} aria-busy={busy}>
                Turn on
              </button>
              <button type="button" class="btn ghost" onClick={() => setStage({ kind: 'idle' })}>
                Cancel
              </button>
            </div>
          </form>
        </>
      ) : on ? (
        <>
          <p>On: logging in asks for a code from your authenticator app after the password.</p>
          <form class="auth-form" onSubmit={turnOff} noValidate aria-label="Turn off or renew">
            <Field
              id="two-factor-code"
              label="Code from the app, or a recovery code"
              autocomplete="one-time-code"
              autocapitalize="none"
              spellcheck={false}
              maxLength={32}
              value={code}
              error={error}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
            <Field
              id="two-factor-password"
              label="Password (to turn it off)"
              type="password"
              autocomplete="current-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <div class="row-actions">
              <button type="submit" class="btn danger" disabled={busy} aria-busy={busy}>
                Turn off two-factor authentication
              </button>
              <button type="button" class="btn ghost" disabled={busy} onClick={regenerate}>
                New recovery codes
              </button>
            </div>
          </form>
        </>
      ) : (
        <>
          <p>Off. With it on, a login needs a code from an authenticator app on your phone as well as your password.</p>
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <form class="auth-form" onSubmit={start} noValidate aria-label="Set up two-factor authentication">
            <Field
              id="two-factor-setup-password"
              label="Password (to set it up)"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
            />
            <button type="submit" class="btn primary" disabled={busy || !password} aria-busy={busy}>
              Set up two-factor authentication
            </button>
          </form>
        </>
      )}
    </section>
  );
}
