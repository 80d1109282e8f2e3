// Account commands of the terminal client (extension E18): a forgotten password
// (before login), the password and email changes, and the devices signed in.

type Frame = { type: string; [field: string]: any };

export interface AccountIo {
  request(frame: Record<string, unknown>): Promise<Frame>;
  /** a question answered in plain sight */
  ask(question: string): Promise<string>;
  /** a question whose answer is not shown; undefined when cancelled */
  askSecret(question: string): Promise<string | undefined>;
  out(text: string): void;
  /** made safe to print: the server's text may hold control characters */
  safe(text: string): string;
}

export const ACCOUNT_COMMANDS = ['/forgot', '/password', '/email', '/devices', '/logout-device', '/logout-others'] as const;

export const ACCOUNT_HELP = `  /forgot USER|EMAIL       forgot your password: a code is mailed, then asks
                           for it and a new password (before logging in)
  /password                change your password (asks for the current one);
                           logs out your other devices
  /email NEW               change your email (asks for the password, then the
                           code mailed to the new address)
  /devices                 where you are logged in, numbered
  /logout-device N         log out device N of /devices at once
  /logout-others           log out every device but this one`;

const error = (f: Frame) => `! ${f.message} (${f.code})`;

/** "2026-11-30 14:05" in local time */
function when(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

interface Session {
  id: string;
  device: string;
  ip: string | null;
  lastIp: string | null;
  lastUsedAt: string;
  current?: true;
}

/** One line of /devices. */
export function deviceLine(n: number, s: Session, safe: (t: string) => string): string {
  const where = s.lastIp ?? s.ip;
  return `${n}. ${safe(s.device)}${where ? ` · ${safe(where)}` : ''} · last used ${when(s.lastUsedAt)}${s.current ? ' (this device)' : ''}`;
}

/** The last /devices list, so /logout-device N names what was shown. */
let listed: Session[] = [];

export async function accountCommand(io: AccountIo, cmd: string, args: string[]): Promise<void> {
  switch (cmd) {
    case '/forgot': {
      const login = args[0];
      if (!login) return io.out('usage: /forgot USER|EMAIL');
      const r = await io.request({ action: 'auth', op: 'forgot', login });
      if (r.type !== 'reset_sent') return io.out(error(r));
      io.out(`* if ${io.safe(login)} has an account, a code was mailed to its address; it is valid ${Math.round(r.expiresIn / 60)} minutes`);
      const code = (await io.ask('code from the email (empty to cancel): ')).trim();
      if (!code) return io.out('* cancelled');
      const password = await io.askSecret('new password (8 or more characters): ');
      if (password === undefined) return io.out('* cancelled');
      const done = await io.request({ action: 'auth', op: 'reset', login, code, password });
      if (done.type !== 'password_reset') return io.out(error(done));
      return io.out('* password changed; every device was logged out. /login USER with the new password');
    }
    case '/password': {
      const current = await io.askSecret('current password: ');
      if (current === undefined) return io.out('* cancelled');
      const password = await io.askSecret('new password (8 or more characters): ');
      if (password === undefined) return io.out('* cancelled');
      const r = await io.request({ action: 'change_password', current, password });
      if (r.type !== 'password_changed') return io.out(error(r));
      const n = Number(r.sessions) || 0;
      return io.out(`* password changed${n ? `; ${n} other ${n === 1 ? 'device was' : 'devices were'} logged out` : ''}`);
    }
    case '/email': {
      const email = args[0];
      if (!email) return io.out('usage: /email NEW-ADDRESS');
      const password = await io.askSecret('password: ');
      if (password === undefined) return io.out('* cancelled');
      const r = await io.request({ action: 'change_email', email, password });
      if (r.type !== 'email_code_sent') return io.out(error(r));
      io.out(`* a code was mailed to ${io.safe(String(r.email))}`);
      const code = (await io.ask('code from that email (empty to cancel): ')).trim();
      if (!code) return io.out('* cancelled; your email is unchanged');
      const done = await io.request({ action: 'confirm_email', code });
      if (done.type !== 'email_changed') return io.out(error(done));
      return io.out(`* your email is now ${io.safe(String(done.email))}; the old address was told`);
    }
    case '/devices': {
      const r = await io.request({ action: 'sessions' });
      if (r.type !== 'sessions') return io.out(error(r));
      listed = r.sessions as Session[];
      return io.out(listed.map((s, i) => deviceLine(i + 1, s, io.safe)).join('\n') || '* no sessions');
    }
    case '/logout-device': {
      const n = Number(args[0]);
      const target = Number.isInteger(n) && n >= 1 ? listed[n - 1] : undefined;
      if (!target) return io.out(listed.length ? `usage: /logout-device N (1 to ${listed.length}, from /devices)` : '* /devices first, then /logout-device N');
      if (target.current) return io.out('! That is this device; /logout to log out here.');
      const r = await io.request({ action: 'revoke_session', session: target.id });
      if (r.type !== 'sessions_revoked') return io.out(error(r));
      listed = listed.filter((s) => s !== target);
      return io.out(`* logged out ${io.safe(target.device)}`);
    }
    case '/logout-others': {
      const r = await io.request({ action: 'revoke_session', others: true });
      if (r.type !== 'sessions_revoked') return io.out(error(r));
      listed = [];
      const n = Number(r.sessions) || 0;
      return io.out(`* logged out ${n} other ${n === 1 ? 'device' : 'devices'}`);
    }
  }
}
