// The administrators' tool (npm run admin, cli/admin.ts): its commands against
// the chat's database while people use it (reports, dismiss, delete-message,
// suspend, unsuspend, delete-user, users), and as a process: its exit codes, its
// refusal to open the local server's embedded database while that server runs,
// and a connection string (PostgreSQL).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminError, run } from '../../cli/admin.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { startServer } from '../../server/server.js';
import { TestClient, signUp } from '../helpers/client.js';
import { TEST_ENV, startTestServer, type TestServer } from '../helpers/server.js';

function admin(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/admin.ts', ...args], { env: { ...process.env, ...env, DATABASE_URL: env.DATABASE_URL ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the commands, against a database in use', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());
  const db = () => ({ sql: t.db.sql, clock: { now: () => new Date() }, settings: t.config.settings });

  it('lists, dismisses and acts on reports', async () => {
    const [alice, mallory] = await Promise.all([signUp(t), signUp(t)]);
    const say = async (text: string) => ((await mallory.request({ action: 'send', room: 'general', text, clientId: crypto.randomUUID() })).message as { id: string }).id;
    const one = await say('first rude\nsecond line');
    const two = await say('second rude');
    const r1 = await alice.request({ action: 'report', room: 'general', message: one, reason: 'rude' });
    const r2 = await alice.request({ action: 'report', room: 'general', message: two, reason: 'also rude' });
    const listed = await run(db(), ['reports']);
    expect(listed).toContain(`#${r1.report}`);
    expect(listed).toContain(`${alice.username} reported message ${one} by ${mallory.username} in general`);
    expect(listed).toContain('    message: first rude second line'); // one line per field
    expect(await run(db(), ['dismiss', String(r1.report)])).toBe(`Report #${r1.report} dismissed.`);
    await expect(run(db(), ['dismiss', String(r1.report)])).rejects.toThrow(`There is no open report #${r1.report}.`);
    await expect(run(db(), ['dismiss', 'x'])).rejects.toThrow(AdminError);
    expect(await run(db(), ['delete-message', two])).toBe(`Message ${two} in general deleted; reports closed: #${r2.report}.`);
    // the change reaches the room's members through the change feed
    const changes = await alice.request({ action: 'changes', room: 'general', after: '0' });
    expect((changes.messages as { id: string; deleted?: boolean }[]).find((m) => m.id === two)).toMatchObject({ deleted: true });
    await expect(run(db(), ['delete-message', two])).rejects.toThrow(/is deleted or gone already/);
    expect(await run(db(), ['reports'])).not.toContain(`#${r2.report} `);
    await Promise.all([alice, mallory].map((c) => c.close()));
  });

  it('suspends (signing the person out), lists and lifts; deletes accounts', async () => {
    const mallory = await signUp(t);
    await expect(run(db(), ['suspend', mallory.username!, '--for', '3 days'])).rejects.toThrow(/is not a length/);
    await expect(run(db(), ['suspend', mallory.username!, '--for', '5s'])).rejects.toThrow(/is not a length/);
    expect(await run(db(), ['suspend', mallory.username!, '--for', '7d'])).toMatch(new RegExp(`^${mallory.username} is suspended until .* UTC; 1 connection\\(s\\) signed out\\.$`));
    // the socket is no longer theirs: its next frame is refused
    expect(await mallory.request({ action: 'send', room: 'general', text: 'x', clientId: 'x' })).toMatchObject({ code: 'unauthorized' });
    const again = await TestClient.connect(t.wsUrl);
    expect(await again.request({ action: 'auth', op: 'resume', token: mallory.token })).toMatchObject({ code: 'suspended' });
    expect(await run(db(), ['users', mallory.username!.slice(0, -1)])).toMatch(new RegExp(`${mallory.username}\\s+verified\\s+since \\d{4}-\\d\\d-\\d\\d\\s+suspended until`));
    expect(await run(db(), ['unsuspend', mallory.username!])).toBe(`${mallory.username} may log in again.`);
    await expect(run(db(), ['unsuspend', mallory.username!])).rejects.toThrow(`${mallory.username} is not suspended.`);
    expect(await again.request({ action: 'auth', op: 'resume', token: mallory.token })).toMatchObject({ type: 'authed' });
    expect(await run(db(), ['delete-user', mallory.username!])).toBe(`${mallory.username}'s account is deleted.`);
    await expect(run(db(), ['delete-user', mallory.username!])).rejects.toThrow(`There is nobody called ${mallory.username}.`);
    expect(await run(db(), ['users', 'no-such-name'])).toBe('Nobody\'s name contains "no-such-name".');
    await expect(run(db(), ['frobnicate'])).rejects.toThrow(/^Unknown command "frobnicate"/);
    await Promise.all([mallory, again].map((c) => c.close()));
  });
});

describe('the process', () => {
  it('refuses the embedded database while the local server runs, and opens it once stopped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ww-admin-'));
    const dataDir = join(dir, 'data');
    try {
      const server = await startServer({ config: loadConfig({ ...TEST_ENV, DATA_DIR: dataDir }), webRoot: join(dir, 'web') });
      const refused = await admin(['users'], { DATA_DIR: dataDir });
      expect(refused).toMatchObject({ code: 2, stdout: '' });
      expect(refused.stderr).toMatch(/^The local server is running on .* \(its database socket answers\)/);
      await server.close();
      expect(await admin(['users'], { DATA_DIR: dataDir })).toMatchObject({ code: 0, stdout: 'No accounts yet.\n' });
      expect(await admin(['suspend', 'nobody_here'], { DATA_DIR: dataDir })).toMatchObject({ code: 2, stderr: 'There is nobody called nobody_here.\n' });
      expect(await admin([], { DATA_DIR: dataDir })).toMatchObject({ code: 2, stdout: expect.stringMatching(/^Usage: npm run admin/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('takes a connection string (PostgreSQL), and says when the database cannot be reached', async (ctx) => {
    if (!process.env.TEST_DATABASE_URL) {
      // without PostgreSQL, only the unreachable one
      const down = await admin(['--database', 'postgres://nobody@127.0.0.1:1/none', 'users']);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^The database failed: /);
      ctx.skip();
    }
    const t = await startTestServer();
    try {
      const mallory = await signUp(t);
      const out = await admin(['--database', t.db.url, 'suspend', mallory.username!, '--for', '12h']);
      expect(out).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^${mallory.username} is suspended until`)) });
      expect((await admin(['users'], { DATABASE_URL: t.db.url })).stdout).toContain(mallory.username);
      await mallory.close();
    } finally {
      await t.close();
    }
  }, 60_000);
});
