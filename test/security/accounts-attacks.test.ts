// Attacks on sign-up, codes and login, against the core on a real database with a
// clock the test moves: taking over a pending sign-up, racing two sign-ups for one
// name, hashing on demand, mail to any address, guessing invite codes, reserved
// names and blank passwords, and the security events each of them must leave.
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { auth, hashGate } from '../../functions/core/accounts.js';
import { openConnection } from '../../functions/core/connections.js';
import { Forbidden, InvalidCode, RateLimited, Unauthorized } from '../../functions/core/errors.js';
import { networkOf } from '../../functions/core/names.js';
import type { Deps, Logger } from '../../functions/core/ports.js';
import { AuthOp } from '../../functions/core/protocol.js';
import { HashGate, hashPassword } from '../../functions/core/secrets.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingGateway, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

/** A logger that keeps every line, so a test can read the security events. */
class RecordingLogger implements Logger {
  readonly lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
  info(message: string, fields: Record<string, unknown> = {}) {
    this.lines.push({ message, fields });
  }
  warn(message: string, fields: Record<string, unknown> = {}) {
    this.lines.push({ message, fields });
  }
  error(message: string, fields: Record<string, unknown> = {}) {
    this.lines.push({ message, fields });
  }
  events(name: string) {
    return this.lines.filter((l) => l.fields.security === name).map((l) => l.fields);
  }
}

let db: TestDatabase;
let now = new Date('2026-03-01T12:00:00Z');
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

/** Fresh ports with these settings on top of the tests' (and a fresh hash gate). */
function world(env: Record<string, string> = {}) {
  const mailer = new RecordingMailer();
  const log = new RecordingLogger();
  const deps: Deps = {
    sql: db.sql,
    gateway: new RecordingGateway(),
    mailer,
    clock: { now: () => now },
    log,
    settings: loadConfig({ ...TEST_ENV, ...env }).settings,
  };
  return { deps, mailer, log };
}

let n = 0;
const unique = (prefix: string) => `${prefix}${process.pid % 1000}_${++n}`;
let ipN = 0;
/** A source address of its own for each caller, so budgets do not mix between tests. */
const newIp = () => `198.51.${Math.floor(++ipN / 250)}.${ipN % 250}`;

async function socket(deps: Deps, ip = newIp()): Promise<string> {
  const cid = unique('c-');
  await openConnection(deps.sql, cid, now, ip);
  return cid;
}

const codesIn = (mailer: RecordingMailer, email: string) =>
  mailer.to(email).flatMap((m) => /\b(\d{6})\b/.exec(m.subject)?.[1] ?? []);

async function register(deps: Deps, username: string, email: string, password: string, ip?: string) {
  return auth(deps, await socket(deps, ip), { op: 'register', username, email, password });
}
async function verify(deps: Deps, username: string, code: string, ip?: string) {
  return auth(deps, await socket(deps, ip), { op: 'verify', username, code });
}
async function login(deps: Deps, username: string, password: string, ip?: string) {
  return auth(deps, await socket(deps, ip), { op: 'login', username, password });
}

describe('a pending sign-up cannot be taken over (1)', () => {
  it('a second sign-up with the same name and address changes neither the password nor the code', async () => {
    const { deps, mailer } = world();
    const name = unique('victim');
    const email = `${name}@example.com`;
    const first = await register(deps, name, email, 'victim password');
    const [victimCode] = codesIn(mailer, email);

    // The attacker knows both the name and the address, and signs up again.
    const second = await register(deps, name, email, 'attacker password');

    expect(second.reply).toEqual(first.reply); // the same answer: nothing learnt
    expect(codesIn(mailer, email)).toEqual([victimCode]); // no new code: the first still stands
    const notice = mailer.to(email).at(-1)!;
    expect(notice.subject).toMatch(/sign-up attempt/i);
    expect(await verify(deps, name, victimCode!)).toMatchObject({ reply: { type: 'authed' } });
    expect(await login(deps, name, 'victim password')).toMatchObject({ reply: { type: 'authed' } });
    await expect(login(deps, name, 'attacker password')).rejects.toBeInstanceOf(Unauthorized);
  });

  it('a code activates only the password given with the sign-up that produced it', async () => {
    const { deps, mailer } = world();
    const name = unique('pending');
    const email = `${name}@example.com`;
    await register(deps, name, email, 'password one');
    const [code] = codesIn(mailer, email);
    // Whatever writes the account's password meanwhile, the code carries its own.
    const other = await hashPassword('password two', deps.settings.scryptN);
    await db.sql`update users set password_hash = ${other} where username = ${name}`;

    await verify(deps, name, code!);

    expect(await login(deps, name, 'password one')).toMatchObject({ reply: { type: 'authed' } });
    await expect(login(deps, name, 'password two')).rejects.toBeInstanceOf(Unauthorized);
  });

  it('after the first code lapses a new sign-up may take the name, and then the old password is gone', async () => {
    const { deps, mailer } = world();
    const name = unique('lapsed');
    await register(deps, name, `${name}@example.com`, 'first password');
    const [oldCode] = codesIn(mailer, `${name}@example.com`);
    advance(11 * 60);
    await register(deps, name, `${name}.new@example.com`, 'second password');
    const [newCode] = codesIn(mailer, `${name}.new@example.com`);

    await expect(verify(deps, name, oldCode!)).rejects.toBeInstanceOf(InvalidCode);
    await expect(login(deps, name, 'first password')).rejects.toBeInstanceOf(Unauthorized);
    expect(await verify(deps, name, newCode!)).toMatchObject({ reply: { type: 'authed', user: { username: name } } });
    expect(await login(deps, name, 'second password')).toMatchObject({ reply: { type: 'authed' } });
  });

  it('two sign-ups for one name at the same moment never both get a code', async () => {
    const { deps, mailer } = world({ MAIL_PER_HOUR: '100000', HASH_QUEUE: '100' });
    advance(3600); // a full server-wide mail budget at the raised size
    const names: string[] = [];
    // Many two-way races, ten at a time; before the fix about one in ninety let both through.
    for (let batch = 0; batch < 30; batch++) {
      const round = Array.from({ length: 10 }, () => unique('race'));
      names.push(...round);
      await Promise.all(
        round.flatMap((name) => [
          register(deps, name, `${name}.a@example.com`, 'password of a'),
          register(deps, name, `${name}.b@example.com`, 'password of b'),
        ]),
      );
    }
    const doubles = names.filter((name) => codesIn(mailer, `${name}.a@example.com`).length + codesIn(mailer, `${name}.b@example.com`).length !== 1);
    expect(doubles).toEqual([]);
    const [row] = await db.sql<{ live: number }[]>`
      select count(*)::int as live from otp_challenges o join users u on u.id = o.user_id
      where u.username = any(${names}) and o.used_at is null`;
    expect(row!.live).toBe(names.length);
  }, 120_000);
});

describe('hashing only behind cheap limits (7)', () => {
  it('limits auth per source address before any hashing, and answers rate_limited', async () => {
    const { deps } = world({ AUTH_PER_IP_PER_MINUTE: '5' });
    const ip = newIp();
    for (let i = 0; i < 5; i++) await expect(login(deps, unique('nobody'), 'some password', ip)).rejects.toBeInstanceOf(Unauthorized);
    const hashed = hashGate(deps.settings).started;

    for (const op of ['login', 'register', 'verify'] as const) {
      const cid = await socket(deps, ip);
      const frame =
        op === 'login'
          ? { op, username: 'somebody', password: 'some password' }
          : op === 'register'
            ? { op, username: unique('flood'), email: 'flood@example.com', password: 'some password' }
            : { op, username: 'somebody', code: '123456' };
      await expect(auth(deps, cid, frame)).rejects.toBeInstanceOf(RateLimited);
    }

    expect(hashGate(deps.settings).started).toBe(hashed); // refused before any scrypt
    // another address is not affected
    await expect(login(deps, unique('nobody'), 'some password', newIp())).rejects.toBeInstanceOf(Unauthorized);
    // and the budget refills
    advance(60);
    await expect(login(deps, unique('nobody'), 'some password', ip)).rejects.toBeInstanceOf(Unauthorized);
  });

  it('counts an IPv6 /64 as one source, and IPv4-mapped addresses as IPv4', async () => {
    expect(networkOf('2001:db8:1:2:aaaa::1')).toBe(networkOf('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    expect(networkOf('2001:db8:1:2::1')).not.toBe(networkOf('2001:db8:1:3::1'));
    expect(networkOf('2001:db8::1')).toBe(networkOf('2001:0db8:0000:0000:ffff::2'));
    expect(networkOf('::ffff:203.0.113.9')).toBe('203.0.113.9');
    const { deps } = world({ AUTH_PER_IP_PER_MINUTE: '2' });
    await expect(login(deps, 'somebody', 'pw pw pw pw', '2001:db8:77:1::1')).rejects.toBeInstanceOf(Unauthorized);
    await expect(login(deps, 'somebody', 'pw pw pw pw', '2001:db8:77:1::2')).rejects.toBeInstanceOf(Unauthorized);
    await expect(login(deps, 'somebody', 'pw pw pw pw', '2001:db8:77:1:ffff::3')).rejects.toBeInstanceOf(RateLimited);
  });

  it('limits auth server-wide, from any number of addresses', async () => {
    const { deps } = world({ AUTH_PER_MINUTE: '4' });
    for (let i = 0; i < 4; i++) await expect(login(deps, 'somebody', 'pw pw pw pw')).rejects.toBeInstanceOf(Unauthorized);
    await expect(login(deps, 'somebody', 'pw pw pw pw')).rejects.toBeInstanceOf(RateLimited);
    advance(60);
  });

  it('lets a burst of resumes (a reconnect after a restart) through from one address', async () => {
    const { deps } = world({ AUTH_PER_IP_PER_MINUTE: '5' });
    const ip = newIp();
    for (let i = 0; i < 30; i++) await expect(auth(deps, await socket(deps, ip), { op: 'resume', token: `t${i}` })).rejects.toBeInstanceOf(Unauthorized);
  });

  it('bounds concurrent hashing with a bounded queue, answering rate_limited when it is full', async () => {
    const gate = new HashGate(1, 2);
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const running = [gate.run(() => blocked), gate.run(async () => 1), gate.run(async () => 2)];
    await expect(gate.run(async () => 3)).rejects.toBeInstanceOf(RateLimited);
    release();
    await expect(Promise.all(running)).resolves.toEqual([undefined, 1, 2]);
    expect(await gate.run(async () => 4)).toBe(4); // free again
  });

  it('logins queue behind the gate and are refused with rate_limited when it is full', async () => {
    const { deps } = world({ HASH_CONCURRENCY: '1', HASH_QUEUE: '1', SCRYPT_N: '65536' });
    const replies = await Promise.allSettled(Array.from({ length: 6 }, () => login(deps, 'somebody', 'pw pw pw pw')));
    const reasons = replies.map((r) => (r.status === 'rejected' ? r.reason.constructor.name : 'ok'));
    expect(reasons.filter((r) => r === 'RateLimited').length).toBeGreaterThan(0);
    expect(reasons.filter((r) => r === 'Unauthorized').length).toBeGreaterThanOrEqual(2);
  });

  it('gives each source network a fair share of the hash queue, so one network cannot starve the rest', async () => {
    const gate = new HashGate(2, 16, 2);
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    // One network asks for 30 hashes at once: two places, the rest refused at once.
    const flood = Array.from({ length: 30 }, () => gate.run(() => blocked, '198.51.100.1'));
    const settled = await Promise.allSettled(flood.slice(2));
    expect(settled.every((r) => r.status === 'rejected' && r.reason instanceof RateLimited)).toBe(true);
    // Another network still gets a place, and its hash runs as soon as one slot frees.
    const other = gate.run(async () => 'in', '203.0.113.9');
    release();
    await expect(other).resolves.toBe('in');
    await Promise.all(flood.slice(0, 2));
  });

  it('a login from another network is answered while one network floods the hash queue', async () => {
    const { deps, log } = world({ HASH_CONCURRENCY: '2', HASH_QUEUE: '16', HASH_PER_NETWORK: '2', SCRYPT_N: '65536' });
    const flooder = newIp();
    let refused = 0;
    const flood = Array.from({ length: 30 }, () =>
      login(deps, 'nobody-here', 'pw pw pw pw', flooder).then(
        () => 'ok',
        (err: unknown) => {
          if (err instanceof RateLimited) refused++;
          return err instanceof RateLimited ? 'refused' : 'answered';
        },
      ),
    );
    // Once the flood has reached the gate (at least the queue's overflow is refused)...
    while (refused < 12) await new Promise((r) => setTimeout(r, 5));
    const legit = login(deps, 'nobody-either', 'pw pw pw pw', newIp());
    await expect(legit).rejects.toBeInstanceOf(Unauthorized); // answered, not rate_limited
    expect((await Promise.all(flood)).filter((r) => r === 'refused').length).toBe(28);
    expect(log.events('rate_limited').some((e) => e.limit === 'hash_per_network')).toBe(true);
  });
});

describe('mail to any address (9)', () => {
  it('limits mail caused from one source address, and server-wide', async () => {
    const { deps, mailer } = world({ MAIL_PER_IP_PER_HOUR: '3', MAIL_PER_HOUR: '5' });
    const ip = newIp();
    for (let i = 0; i < 3; i++) await register(deps, unique('spam'), `spam${i}_${n}@example.com`, 'some password', ip);
    await expect(register(deps, unique('spam'), 'one.more@example.com', 'some password', ip)).rejects.toBeInstanceOf(RateLimited);
    expect(mailer.to('one.more@example.com')).toHaveLength(0);
    expect(mailer.sent).toHaveLength(3);
    // server-wide: two more from elsewhere, then nobody
    await register(deps, unique('spam'), 'elsewhere1@example.com', 'some password');
    await register(deps, unique('spam'), 'elsewhere2@example.com', 'some password');
    await expect(register(deps, unique('spam'), 'elsewhere3@example.com', 'some password')).rejects.toBeInstanceOf(RateLimited);
    expect(mailer.sent).toHaveLength(5);
    advance(3600);
  });

  it('counts plus-addresses against the mailbox they reach', async () => {
    const { deps, mailer } = world({ MAIL_PER_RECIPIENT_PER_HOUR: '2' });
    const box = `plusbox${process.pid % 1000}_${++n}`;
    await register(deps, unique('plus'), `${box}+1@example.com`, 'some password', newIp());
    await register(deps, unique('plus'), `${box.toUpperCase()}+2@Example.com`, 'some password', newIp());
    await expect(register(deps, unique('plus'), `${box}+3@example.com`, 'some password', newIp())).rejects.toBeInstanceOf(RateLimited);
    await expect(register(deps, unique('plus'), `${box}@example.com`, 'some password', newIp())).rejects.toBeInstanceOf(RateLimited);
    expect(mailer.sent).toHaveLength(2);
    advance(3600);
  });

  it('puts nothing the sender chose into the "name taken" notice', async () => {
    const { deps, mailer } = world();
    const name = `www.phish${process.pid % 1000}-login.example`;
    await register(deps, name, 'attacker@example.com', 'some password');
    await register(deps, name, 'target@example.com', 'some password');
    const [notice] = mailer.to('target@example.com');
    expect(notice!.subject).toMatch(/sign-up attempt/i);
    expect(`${notice!.subject}\n${notice!.text}`.toLowerCase()).not.toContain('phish');
  });

  it('does not let sign-ups from elsewhere lock the owner out of their address, nor renew a block by retrying', async () => {
    // At most 2 mails an hour to one address from one source, 3 from everyone.
    const { deps, mailer } = world({ OTP_SENDS_PER_HOUR: '2', MAIL_PER_RECIPIENT_PER_HOUR: '3' });
    const owner = `owner${process.pid % 1000}_${++n}@example.com`;
    const attacker = newIp();
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await register(deps, unique('squat'), owner, 'attacker password', attacker).catch((e) => e));
    expect(replies.map((r) => r.constructor.name)).toEqual(['Object', 'Object', 'RateLimited', 'RateLimited']);

    // The owner, from their own address, still gets their code.
    const ownerIp = newIp();
    const mine = unique('owner');
    expect(await register(deps, mine, owner, 'owner password', ownerIp)).toMatchObject({ reply: { type: 'otp_sent' } });
    const code = codesIn(mailer, owner).at(-1)!;

    // A third source fills the address's hourly total; the owner's retries are
    // refused but spend nothing, so the block ends as the attacker's mail ages.
    const third = newIp();
    await expect(register(deps, unique('squat'), owner, 'attacker password', third)).rejects.toBeInstanceOf(RateLimited);
    for (let i = 0; i < 5; i++) await expect(register(deps, unique('again'), owner, 'owner password', ownerIp)).rejects.toBeInstanceOf(RateLimited);
    expect(mailer.to(owner)).toHaveLength(3);
    // the code the owner already has still works
    expect(await verify(deps, mine, code)).toMatchObject({ reply: { type: 'authed' } });
    advance(20 * 60 + 1); // one token of three an hour
    expect(await register(deps, unique('later'), owner, 'owner password', ownerIp)).toMatchObject({ reply: { type: 'otp_sent' } });
    advance(3600);
  });
});

describe('invite codes (14)', () => {
  it('limits tries per source address before comparing, and logs each refusal', async () => {
    const { deps, log } = world({ INVITE_CODE: 'the real invite', INVITE_TRIES_PER_IP_PER_HOUR: '3', INVITE_TRIES_PER_HOUR: '6' });
    const ip = newIp();
    const tryInvite = async (invite: string, from = ip) =>
      auth(deps, await socket(deps, from), { op: 'register', username: unique('inv'), email: `${unique('inv')}@example.com`, password: 'some password', invite });
    for (let i = 0; i < 3; i++) await expect(tryInvite(`guess ${i}`)).rejects.toBeInstanceOf(Forbidden);
    await expect(tryInvite('the real invite')).rejects.toBeInstanceOf(RateLimited);
    expect(log.events('invite_refused')).toHaveLength(3);
    expect(JSON.stringify(log.lines)).not.toContain('guess');
    // elsewhere, the right code works; the server-wide budget then runs out
    expect(await tryInvite('the real invite', newIp())).toMatchObject({ reply: { type: 'otp_sent' } });
    await expect(tryInvite('guess', newIp())).rejects.toBeInstanceOf(Forbidden);
    await expect(tryInvite('guess', newIp())).rejects.toBeInstanceOf(Forbidden);
    await expect(tryInvite('the real invite', newIp())).rejects.toBeInstanceOf(RateLimited);
    advance(3600);
  });
});

describe('names and passwords (16)', () => {
  const registerFrame = (username: string, password = 'a fine password') => ({ op: 'register', username, email: 'x@example.com', password });
  const problem = (frame: object) => {
    const parsed = v.safeParse(AuthOp, frame);
    return parsed.success ? undefined : parsed.issues.map((i) => i.message).join(' ');
  };

  it('refuses reserved usernames and names of punctuation only, with a reason', () => {
    for (const name of ['system', 'Admin', 'root', 'moderator', 'support', 'wildwhispers', 'wild-whispers', 'everyone', 'here', 'channel', 'a.d.m.i.n', 'admin_']) {
      expect(problem(registerFrame(name)), name).toMatch(/reserved/i);
    }
    for (const name of ['...', '.-_', '___', '-.-.']) expect(problem(registerFrame(name)), name).toMatch(/letter or digit/i);
    for (const name of ['alice', 'bob.smith', 'x_1', 'admiral', 'rooted']) expect(problem(registerFrame(name)), name).toBeUndefined();
  });

  it('refuses passwords of spaces or invisible characters, and keeps normal passphrases', () => {
    for (const password of [' '.repeat(8), '\u200B'.repeat(8), '\u3164'.repeat(8), '\u200D\uFEFF\u2060\u00A0\u3000\u200C\u180E\u2800', 'ab      cd']) {
      expect(problem(registerFrame('alice', password)), JSON.stringify(password)).toMatch(/visible/i);
    }
    for (const password of ['correct horse battery', 'пароль пароль', '密码密码密码密码', 'Tr0ub4dor&3', '🦊🦊🦊🦊🦊🦊🦊🦊']) {
      expect(problem(registerFrame('alice', password)), password).toBeUndefined();
    }
  });

  it('leaves existing accounts alone: a reserved name with an old password still logs in', async () => {
    const { deps } = world();
    const hash = await hashPassword('        ', deps.settings.scryptN);
    await db.sql`
      insert into users (username, display_name, email, email_lower, password_hash, verified_at)
      values ('admin', 'admin', 'admin@example.com', 'admin@example.com', ${hash}, ${now})`;
    expect(problem({ op: 'login', username: 'admin', password: '        ' })).toBeUndefined();
    expect(await login(deps, 'admin', '        ')).toMatchObject({ reply: { type: 'authed', user: { username: 'admin' } } });
  });
});

describe('security events (10)', () => {
  it('logs failed logins, lockouts, bad and burned codes, and rate limits, never a secret', async () => {
    const { deps, log, mailer } = world({ LOGIN_FAILURES_PER_ACCOUNT: '2', AUTH_PER_IP_PER_MINUTE: '100' });
    const name = unique('events');
    const email = `${name}@example.com`;
    const ip = newIp();
    await register(deps, name, email, 'the right password', ip);
    const [code] = codesIn(mailer, email);
    const wrongCode = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) await expect(verify(deps, name, wrongCode, ip)).rejects.toBeInstanceOf(InvalidCode);
    await login(deps, name, 'the right password', ip); // a new code
    await verify(deps, name, codesIn(mailer, email).at(-1)!, ip);
    for (let i = 0; i < 2; i++) await expect(login(deps, name, `wrong password ${i}`, ip)).rejects.toBeInstanceOf(Unauthorized);
    await expect(login(deps, name, 'the right password', ip)).rejects.toBeInstanceOf(RateLimited);
    await expect(login(deps, unique('nobody'), 'wrong password x', ip)).rejects.toBeInstanceOf(Unauthorized);
    const limited = world({ AUTH_PER_IP_PER_MINUTE: '1' });
    const limitedIp = newIp();
    await expect(login(limited.deps, 'nobody', 'whatever pw', limitedIp)).rejects.toBeInstanceOf(Unauthorized);
    await expect(login(limited.deps, 'nobody', 'whatever pw', limitedIp)).rejects.toBeInstanceOf(RateLimited);

    expect(log.events('code_failed').length).toBe(5);
    expect(log.events('code_burned')).toEqual([expect.objectContaining({ user: name, ip })]);
    expect(log.events('login_failed')).toHaveLength(3);
    expect(log.events('login_failed')[0]).toMatchObject({ user: name, ip });
    expect(log.events('login_locked')).toEqual([expect.objectContaining({ user: name, ip })]);
    expect(limited.log.events('rate_limited')).toEqual([expect.objectContaining({ limit: 'auth_per_ip', ip: limitedIp })]);
    const everything = JSON.stringify([...log.lines, ...limited.log.lines]);
    for (const secret of ['the right password', 'wrong password', code!, wrongCode, email]) expect(everything).not.toContain(secret);
  });
});
