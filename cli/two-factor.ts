// Two-factor authentication from the terminal (E19): `/2fa on` shows the key and
// the otpauth:// URI (and a QR code of it on a terminal), `/2fa confirm CODE`
// turns it on and prints the recovery codes once, `/2fa codes CODE` makes new
// ones, `/2fa off CODE` turns it off (asks for the password); and a login that
// answers `second_factor` asks for a code. cli/chat.ts passes its input and output.
import { renderUnicodeCompact } from 'uqr';

type Frame = { type: string; [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface TwoFactorIo {
  request(frame: Record<string, unknown>): Promise<Frame>;
  out(text: string): void;
  ask(question: string): Promise<string>;
  askSecret(question: string): Promise<string | undefined>;
  describeError(f: Frame): string;
  /** whether stdout is a terminal (the QR code is drawn only there) */
  tty: boolean;
}

export const TWO_FACTOR_HELP = `  /2fa                     whether two-factor authentication is on
  /2fa on                  set it up: add the key to an authenticator app,
                           then /2fa confirm CODE
  /2fa codes CODE          new recovery codes (the old ones stop working)
  /2fa off CODE            turn it off (asks for your password)`;

/** The recovery codes, with the one warning that matters. */
export function describeRecoveryCodes(codes: string[]): string {
  return [
    '* recovery codes (each works once, in place of the app; they are not shown again, so keep them somewhere safe):',
    ...codes.map((c) => `    ${c}`),
  ].join('\n');
}

/**
 * After a right password for an account with 2FA: asks for a code and sends the
 * second step; the answer (authed or an error) is the caller's.
 */
export async function secondStep(io: TwoFactorIo, challenge: Frame): Promise<Frame> {
  const code = (await io.ask('two-factor code from your authenticator app (or a recovery code): ')).trim();
  if (!code) return { type: 'error', code: 'cancelled', message: 'cancelled' };
  return io.request({ action: 'auth', op: 'second_factor', username: challenge.username, challenge: challenge.challenge, code });
}

/** `/2fa [on|confirm CODE|codes CODE|off CODE]`; `on` is whether the account has it on, from `authed`. */
export async function twoFactorCommand(io: TwoFactorIo, args: string[], on: boolean | undefined): Promise<boolean | undefined> {
  const [sub, ...rest] = args;
  const code = rest.join(' ').trim();
  switch (sub) {
    case undefined:
      io.out(on === undefined ? '* log in first' : `* two-factor authentication is ${on ? 'on' : 'off'}`);
      return on;
    case 'on': {
      const password = await io.askSecret('password: ');
      if (password === undefined) {
        io.out('* cancelled');
        return on;
      }
      const r = await io.request({ action: 'two_factor_setup', password });
      if (r.type !== 'two_factor_setup') {
        io.out(io.describeError(r));
        return on;
      }
      if (io.tty) io.out(renderUnicodeCompact(r.uri as string));
      io.out(`* key: ${r.secret}\n* or open: ${r.uri}`);
      io.out(`* add it to an authenticator app, then type /2fa confirm CODE within ${Math.round(r.expiresIn / 60)} minutes`);
      return on;
    }
    case 'confirm': {
      if (!code) {
        io.out('usage: /2fa confirm CODE');
        return on;
      }
      const r = await io.request({ action: 'two_factor_enable', code });
      if (r.type !== 'two_factor_enabled') {
        io.out(io.describeError(r));
        return on;
      }
      io.out('* two-factor authentication is on: logins now ask for a code from the app');
      io.out(describeRecoveryCodes(r.recoveryCodes));
      return true;
    }
    case 'codes': {
      if (!code) {
        io.out('usage: /2fa codes CODE');
        return on;
      }
      const r = await io.request({ action: 'recovery_codes', code });
      if (r.type !== 'recovery_codes') io.out(io.describeError(r));
      else io.out(describeRecoveryCodes(r.recoveryCodes));
      return on;
    }
    case 'off': {
      if (!code) {
        io.out('usage: /2fa off CODE');
        return on;
      }
      const password = await io.askSecret('password: ');
      if (password === undefined) {
        io.out('* cancelled');
        return on;
      }
      const r = await io.request({ action: 'two_factor_disable', password, code });
      if (r.type !== 'two_factor_disabled') {
        io.out(io.describeError(r));
        return on;
      }
      io.out('* two-factor authentication is off');
      return false;
    }
    default:
      io.out('usage: /2fa [on | confirm CODE | codes CODE | off CODE]');
      return on;
  }
}
