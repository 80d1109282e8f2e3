// The installable, offline client in a real browser: Debian's Chromium with a
// persistent profile (IndexedDB, the service worker and its cache survive a
// closed browser), against the real local server, which is stopped to be
// "offline" (the browser's offline switch does not cover WebSockets). A message
// written offline waits in the device's outbox, survives the browser closing,
// and goes exactly once when the server is back; a cancelled one never goes;
// two tabs do not both send; the manifest, icons and service worker pass the
// checks an install prompt makes; a logout leaves nothing on the device.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import { resumeAs, type Account, type TestClient } from '../helpers/client.js';
import { CHROMIUM, CHROMIUM_ARGS, PHONE_DARK, checkA11y, openDevice, roomButton, signUpAs, useWebTest } from '../helpers/browser.js';

const web = useWebTest();
const profiles: string[] = [];

afterAll(async () => {
  for (const dir of profiles) await rm(dir, { recursive: true, force: true });
});

/** A browser with a profile on disk: closing it and launching again on `dir` is a closed and reopened browser. */
async function launchProfile(dir: string, options: { phoneDark?: boolean } = {}): Promise<BrowserContext> {
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    ...(options.phoneDark ? PHONE_DARK : { viewport: { width: 1280, height: 800 } }),
  });
  ctx.setDefaultTimeout(15_000);
  return ctx;
}

async function newProfile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ww-profile-'));
  profiles.push(dir);
  return dir;
}

async function page(ctx: BrowserContext): Promise<Page> {
  const p = ctx.pages()[0] ?? (await ctx.newPage());
  p.on('pageerror', (e) => web.problems.push(e.message));
  return p;
}

/** Logs in through the form, past the tour, on #general. */
async function logIn(p: Page, who: Account): Promise<void> {
  await p.goto(web.baseUrl());
  await p.getByRole('group', { name: 'Sign up or log in' }).getByRole('button', { name: 'Log in' }).click();
  await p.getByLabel('Username').fill(who.username);
  await p.getByLabel('Password', { exact: true }).fill(who.password);
  await p.getByLabel('Password', { exact: true }).press('Enter');
  const tour = p.getByRole('dialog', { name: 'Welcome to Wild Whispers' });
  const heading = p.getByRole('heading', { name: 'general', level: 1 });
  await tour.or(heading).first().waitFor();
  if (await tour.isVisible()) await tour.getByRole('button', { name: 'Skip the tour' }).click();
  await heading.waitFor();
}

const message = (p: Page, text: string) =>
  p.locator('.message-list li.msg:not(.pending)').filter({ has: p.locator('.msg-text', { hasText: text }) });
const pending = (p: Page, text: string) => p.locator('.message-list li.msg.pending').filter({ hasText: text });
const composer = (p: Page) => p.getByRole('textbox', { name: /^Message / });
const status = (p: Page) => p.locator('.conn-label');

async function write(p: Page, text: string): Promise<void> {
  await composer(p).fill(text);
  await composer(p).press('Enter');
}

/** The page's service worker controls it and the device has saved the session (the save runs a second after a change). */
async function readyOffline(p: Page, user: string): Promise<void> {
  await p.waitForFunction(() => navigator.serviceWorker.ready.then(() => true));
  await p.reload();
  await p.getByRole('heading', { name: 'general', level: 1 }).waitFor();
  expect(await p.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await expect.poll(() => cachedUser(p), { timeout: 10_000 }).toBe(user);
}

/** Everything in the device's database, as JSON (empty stores: ""). */
function deviceDump(p: Page): Promise<string> {
  return p.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const req = indexedDB.open('wild-whispers');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const names = [...db.objectStoreNames];
          if (names.length === 0) return resolve('');
          const tx = db.transaction(names, 'readonly');
          const out: unknown[] = [];
          for (const n of names) {
            const r = tx.objectStore(n).getAll();
            r.onsuccess = () => out.push(...r.result);
          }
          tx.oncomplete = () => resolve(out.length ? JSON.stringify(out) : '');
        };
      }),
  );
}

function cachedUser(p: Page): Promise<string | null> {
  return p.evaluate(
    () =>
      new Promise<string | null>((resolve) => {
        const req = indexedDB.open('wild-whispers');
        req.onsuccess = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains('session')) return resolve(null);
          const get = db.transaction('session').objectStore('session').get('current');
          get.onsuccess = () => resolve((get.result as { user?: string; rooms?: string[] } | undefined)?.rooms?.length ? get.result.user : null);
        };
        req.onerror = () => resolve(null);
      }),
  );
}

async function storedCount(text: string): Promise<number> {
  const rows = await web.server.db.sql`select count(*)::int as n from messages where body = ${text}`;
  return Number(rows[0]!.n);
}

/** Back online: the server again on its port, and the page told to retry now rather than wait out its backoff. */
async function backOnline(...pages: Page[]): Promise<void> {
  await web.server.restart();
  for (const p of pages) {
    const retry = p.getByRole('button', { name: 'Retry now' });
    if (await retry.isVisible().catch(() => false)) await retry.click().catch(() => {});
    await expect.poll(() => status(p).textContent(), { timeout: 40_000 }).toBe('Connected');
  }
}

describe.sequential('offline and installable, in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let dir: string;
  let ctx: BrowserContext;
  let p: Page;

  it('passes the install checks: a valid manifest whose icons load at their sizes, a service worker in control', async () => {
    alice = await signUpAs(web.server, 'alice');
    bob = await signUpAs(web.server, 'bob');
    await bob.request({ action: 'send', room: 'general', text: 'Before the outage, from bob', clientId: 'b-1' });
    await bob.request({ action: 'send', room: dmRoomId('alice', 'bob'), text: 'Just for alice', clientId: 'b-2' });
    dir = await newProfile();
    ctx = await launchProfile(dir);
    p = await page(ctx);
    await logIn(p, alice);
    await message(p, 'Before the outage, from bob').waitFor();
    await roomButton(p, 'bob').click();
    await message(p, 'Just for alice').waitFor();
    await roomButton(p, 'general').click();

    const manifest = await p.evaluate(async () => {
      const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]')!;
      const res = await fetch(link.href);
      return { url: res.url, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
    });
    expect(manifest.type).toBe('application/manifest+json');
    const m = manifest.body as {
      name: string;
      short_name: string;
      start_url: string;
      scope: string;
      display: string;
      theme_color: string;
      background_color: string;
      icons: { src: string; sizes: string; type: string; purpose?: string }[];
    };
    expect(m.name).toBe('Wild Whispers');
    expect(m.short_name.length).toBeGreaterThan(0);
    expect(m.short_name.length).toBeLessThanOrEqual(12);
    expect(m.display).toBe('standalone');
    expect(m.theme_color).toMatch(/^#[0-9a-f]{6}$/);
    expect(m.background_color).toMatch(/^#[0-9a-f]{6}$/);
    const base = new URL(manifest.url);
    const start = new URL(m.start_url, base);
    const scope = new URL(m.scope, base);
    expect(start.origin).toBe(base.origin);
    expect(start.pathname.startsWith(scope.pathname)).toBe(true);
    for (const size of [192, 512]) expect(m.icons.some((i) => i.sizes === `${size}x${size}` && (i.purpose ?? 'any').includes('any'))).toBe(true);
    expect(m.icons.some((i) => i.purpose?.includes('maskable'))).toBe(true);
    for (const icon of m.icons) {
      const loaded = await p.evaluate(async (src) => {
        const res = await fetch(src);
        const img = new Image();
        img.src = src;
        await img.decode();
        return { type: res.headers.get('content-type'), size: `${img.naturalWidth}x${img.naturalHeight}` };
      }, icon.src);
      expect(loaded).toEqual({ type: 'image/png', size: icon.sizes });
    }

    // a service worker controls the page after a reload, and the session is saved on the device
    await readyOffline(p, 'alice');
    const sw = await p.request.get(new URL('/sw.js', base).toString());
    expect(sw.headers()['cache-control']).toBe('no-cache');
    expect(sw.headers()['content-type']).toMatch(/^text\/javascript/);

    // Chromium's own view: the manifest parses without errors, and nothing stands in the way of installing
    const cdp = await ctx.newCDPSession(p);
    const parsed = (await cdp.send('Page.getAppManifest')) as { errors: { message: string; critical: number }[]; url: string };
    expect(parsed.errors).toEqual([]);
    expect(parsed.url).toBe(manifest.url);
    const install = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    expect(install.installabilityErrors.map((e) => e.errorId)).toEqual([]);
    await cdp.detach();

    // the worker answers the app's pages with the shell, never a shared file's URL
    const other = await ctx.newPage();
    const file = await other.goto(new URL('/files/0123456789abcdef', base).toString());
    expect(file!.status()).toBe(403); // the server's refusal of an unsigned file URL, not the app
    expect(file!.fromServiceWorker()).toBe(false);
    const deepLink = await other.goto(new URL('/some/page', base).toString());
    expect(deepLink!.fromServiceWorker()).toBe(true);
    await other.close();
  }, 120_000);

  it('works offline: with the server stopped, a reload shows the rooms and messages this device kept', async () => {
    await web.server.stop();
    await p.reload();
    await p.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    await message(p, 'Before the outage, from bob').waitFor();
    await expect.poll(() => status(p).textContent(), { timeout: 20_000 }).toMatch(/Offline|Connecting…/);
    await p.getByRole('status').filter({ hasText: 'You are offline' }).waitFor();
    await roomButton(p, 'bob').click();
    await message(p, 'Just for alice').waitFor();
    await roomButton(p, 'general').click();
  }, 60_000);

  it('keeps a message written offline through a closed browser and sends it once when the server is back', async () => {
    const text = 'Written offline, sent once';
    await write(p, text);
    const waiting = pending(p, text);
    await waiting.getByText('Pending: will be sent when you are back online').waitFor();
    await waiting.getByRole('button', { name: `Cancel unsent message: ${text}` }).waitFor();
    await p.waitForTimeout(300); // the outbox write is one IndexedDB transaction
    await ctx.close(); // the whole browser, not just the tab

    ctx = await launchProfile(dir);
    p = await page(ctx);
    await p.goto(web.baseUrl()); // still offline: the shell, the rooms and the outbox come from the device
    await pending(p, text).waitFor();
    expect(await storedCount(text)).toBe(0);

    await backOnline(p);
    const bobs = await openDevice(web, bob);
    await message(p, text).waitFor();
    await expect.poll(() => pending(p, text).count()).toBe(0);
    expect(await storedCount(text)).toBe(1);
    await message(bobs.page, text).waitFor();
    expect(await message(bobs.page, text).count()).toBe(1);
    const [row] = await web.server.db.sql`select client_id from messages where body = ${text}`;
    expect(String(row!.client_id)).toMatch(/^[0-9a-f]{32}$/);
    await bobs.ctx.close();
  }, 120_000);

  it('never sends a message cancelled before the connection came back, not even after a reopen', async () => {
    await web.server.stop();
    await expect.poll(() => status(p).textContent(), { timeout: 20_000 }).not.toBe('Connected');
    const text = 'Second thoughts: never sent';
    await write(p, text);
    await pending(p, text).getByRole('button', { name: `Cancel unsent message: ${text}` }).click();
    await expect.poll(() => pending(p, text).count()).toBe(0);
    await p.reload();
    await p.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    await backOnline(p);
    await write(p, 'After the cancelled one');
    await message(p, 'After the cancelled one').waitFor();
    expect(await storedCount(text)).toBe(0);
    expect(await pending(p, text).count()).toBe(0);
  }, 120_000);

  it('sends from one tab only when two are open (and the clientId would make a second send harmless)', async () => {
    const second = await ctx.newPage();
    second.on('pageerror', (e) => web.problems.push(e.message));
    await second.goto(web.baseUrl());
    await second.getByRole('heading', { name: 'general', level: 1 }).waitFor();
    await web.server.stop();
    for (const tab of [p, second]) await expect.poll(() => status(tab).textContent(), { timeout: 20_000 }).not.toBe('Connected');
    const text = 'Two tabs, one message';
    await write(p, text);
    // the other tab learns of it from the outbox (a BroadcastChannel note)
    await pending(second, text).waitFor();
    // every `send` of it that leaves either tab, on the sockets opened from now on
    const sends: string[] = [];
    for (const [name, tab] of [['first', p], ['second', second]] as const) {
      tab.on('websocket', (ws) =>
        ws.on('framesent', (f) => {
          if (typeof f.payload === 'string' && f.payload.includes('"action":"send"') && f.payload.includes(text)) sends.push(name);
        }),
      );
    }
    await backOnline(p, second);
    await message(p, text).waitFor();
    await message(second, text).waitFor();
    await expect.poll(() => pending(second, text).count()).toBe(0);
    expect(await storedCount(text)).toBe(1);
    expect(await message(second, text).count()).toBe(1);
    expect(sends).toHaveLength(1); // one tab held the outbox's lock; the other found it sent
    await second.close();
  }, 120_000);

  it('is accessible offline with a pending message, at phone width in the dark theme; keeps nothing once logged out from elsewhere', async () => {
    const phoneDir = await newProfile();
    const phone = await launchProfile(phoneDir, { phoneDark: true });
    const pp = await page(phone);
    await logIn(pp, bob);
    await readyOffline(pp, 'bob');
    await web.server.stop();
    await pp.reload();
    await pp.getByRole('status').filter({ hasText: 'You are offline' }).waitFor();
    await write(pp, 'Typed on the phone, offline');
    await pending(pp, 'Typed on the phone, offline').getByRole('button', { name: /^Cancel unsent message/ }).waitFor();
    await checkA11y(pp, 'offline with a pending message, phone, dark');
    await backOnline(pp);
    await message(pp, 'Typed on the phone, offline').waitFor();

    // logged out from another device (a lost phone): the phone keeps nothing of the session
    await expect.poll(() => cachedUser(pp)).toBe('bob');
    const desk = await resumeAs(web.server, bob.token!);
    await desk.request({ action: 'revoke_session', others: true });
    await pp.getByRole('group', { name: 'Sign up or log in' }).waitFor();
    await expect.poll(() => deviceDump(pp)).toBe('');
    await desk.close();
    await phone.close();
  }, 120_000);

  it('leaves nothing on the device after a logout: the next person sees none of it', async () => {
    expect(await deviceDump(p)).toContain('"user":"alice"');
    await p.getByRole('button', { name: 'Log out' }).click();
    await p.getByRole('group', { name: 'Sign up or log in' }).waitFor();
    await expect.poll(() => deviceDump(p)).toBe('');

    // bob on the same browser: his own cache, nothing of alice's, offline too
    await logIn(p, bob);
    await readyOffline(p, 'bob');
    const dump = await deviceDump(p);
    expect(dump).toContain('"user":"bob"');
    expect(dump).not.toContain('"user":"alice"');
    expect(dump).not.toContain('"username":"alice","displayName"'); // her profile, kept with her session
    await web.server.stop();
    await p.reload();
    await p.getByRole('status').filter({ hasText: 'You are offline' }).waitFor();
    await message(p, 'Before the outage, from bob').waitFor();
    await roomButton(p, 'alice').click();
    await message(p, 'Just for alice').waitFor(); // bob's own copy of their DM
    // a logout while offline: the device forgets the session too (its token and
    // read marks), and does not sign bob back in once the server is back
    await p.getByRole('button', { name: 'Log out' }).click();
    await p.getByRole('group', { name: 'Sign up or log in' }).waitFor();
    expect(await p.evaluate(() => Object.keys(localStorage).filter((k) => /token|read\.bob/.test(k)))).toEqual([]);
    await web.server.restart();
    await p.reload();
    await p.getByRole('group', { name: 'Sign up or log in' }).waitFor();
    expect(await deviceDump(p)).toBe('');
    await ctx.close();
    expect(web.problems).toEqual([]);
  }, 150_000);
});
