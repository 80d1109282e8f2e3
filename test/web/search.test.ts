// Search in a real browser: Debian's Chromium driven by playwright-core against
// the real local server. Alice and Bob share #ops and a direct conversation;
// Alice searches from the top bar (Ctrl+K and `/`), reads the results with the
// matches marked, moves through them with the arrow keys, opens one with Enter
// and lands on the message in its room; a query with no match says what to try,
// a bad filter says what is wrong. Also at phone width in the dark theme; axe
// clean throughout. Controls are found by role and label.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PHONE_DARK, checkA11y, openDevice, signUpAs, useWebTest } from '../helpers/browser.js';
import type { Account, TestClient } from '../helpers/client.js';

const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');

const web = useWebTest({ MESSAGE_BURST: '500', MESSAGES_PER_MINUTE: '10000', USER_MESSAGE_BURST: '500', USER_MESSAGES_PER_MINUTE: '10000' });

const searchBox = (page: Page) => page.getByRole('search').getByRole('searchbox', { name: 'Search messages' });
const panel = (page: Page) => page.getByRole('region', { name: 'Search results' });
const results = (page: Page) => panel(page).getByRole('list').getByRole('button');

describe.sequential('search in Chromium', () => {
  let alice: TestClient & Account;
  let bob: TestClient & Account;
  let page: Page;
  const sent: Record<string, string> = {};

  it('signs Alice and Bob in; they talk in #ops and in a direct conversation', async () => {
    alice = await signUpAs(web.server, 'alice');
    bob = await signUpAs(web.server, 'bob');
    for (const c of [alice, bob]) {
      await c.request({ action: 'join', room: 'general' });
      await c.request({ action: 'join', room: 'ops' });
    }
    const say = async (c: TestClient, room: string, text: string) => {
      const r = await c.request({ action: 'send', room, text, clientId: `k${Object.keys(sent).length}` });
      sent[text] = (r.message as { id: string }).id;
    };
    await say(bob, 'ops', 'The deployment of the billing service starts at noon');
    // a long room, so the first match is far back from the latest page
    for (let i = 0; i < 60; i++) await say(alice, 'ops', `routine status line ${i}`);
    await say(bob, 'dm:alice:bob', 'Can you deploy the café menu before lunch? 🍰');
    await say(alice, 'general', 'Nothing to see here');
    page = (await openDevice(web, alice)).page;
  }, 90_000);

  it('Ctrl+K goes to the search box; typing shows results newest first, with the matches marked', async () => {
    await page.getByRole('heading', { name: 'general', level: 1 }).click();
    await page.keyboard.press('Control+k');
    await expect.poll(() => searchBox(page).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type('deplo');
    await expect.poll(() => results(page).count()).toBe(2);
    await expect.poll(() => panel(page).getByRole('status').textContent()).toBe('2 results');
    const [first, second] = [results(page).nth(0), results(page).nth(1)];
    expect(await first.textContent()).toContain('with bob');
    expect(await first.locator('mark').allTextContents()).toEqual(['deploy']);
    expect(await second.textContent()).toContain('in #ops');
    expect(await second.locator('mark').allTextContents()).toEqual(['deployment']);
    await checkA11y(page, 'search results');
    await page.screenshot({ path: join(SCREENSHOTS, 'search-results.png') });
  });

  it('arrows move through the results; Enter opens the message in its room, brought into view', async () => {
    await searchBox(page).press('ArrowDown');
    await expect.poll(() => results(page).nth(0).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => results(page).nth(1).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'ops', level: 1 }).waitFor();
    await expect(panel(page).isVisible()).resolves.toBe(false);
    const target = page.locator('.message-list li.msg.highlight');
    await target.waitFor();
    expect(await target.textContent()).toContain('The deployment of the billing service');
    await expect.poll(() => target.isVisible()).toBe(true);
  });

  it('`/` goes back to the box when not typing; a query with no match says what to try', async () => {
    await page.getByRole('heading', { name: 'ops', level: 1 }).click();
    await page.keyboard.press('/');
    await expect.poll(() => searchBox(page).evaluate((el) => el === document.activeElement)).toBe(true);
    await searchBox(page).fill('zebra crossing ');
    await panel(page).getByText('No messages in your rooms match “zebra crossing”.').waitFor();
    await panel(page).getByText(/the start of a word/).waitFor();
    // `/` typed in the composer is a character, not the shortcut
    const composer = page.getByRole('textbox', { name: 'Message #ops' });
    await composer.click();
    await page.keyboard.type('a/b');
    expect(await composer.inputValue()).toBe('a/b');
    await composer.fill('');
  });

  it('a bad filter gets a sentence, not an empty list; the café is found without its accent', async () => {
    await searchBox(page).fill('deploy has:link');
    await expect.poll(() => panel(page).getByRole('alert').textContent()).toMatch(/"has:" is not a filter/);
    await searchBox(page).fill('cafe ');
    await expect.poll(() => results(page).count()).toBe(1);
    expect(await results(page).nth(0).locator('mark').allTextContents()).toEqual(['café']);
    await searchBox(page).press('Enter'); // opens the first result
    await page.getByRole('heading', { name: 'bob', level: 1 }).waitFor();
    await page.locator('.message-list li.msg.highlight').waitFor();
  });

  it('Bob does not find Alice’s words in a room he is not in, and works at phone width in the dark theme', async () => {
    await alice.request({ action: 'join', room: 'alice-notes' });
    await alice.request({ action: 'send', room: 'alice-notes', text: 'private deploy notes', clientId: 'private-1' });
    const phone = (await openDevice(web, bob, PHONE_DARK)).page;
    await searchBox(phone).click();
    await searchBox(phone).fill('deploy ');
    await expect.poll(() => results(phone).count()).toBe(1);
    expect(await results(phone).nth(0).textContent()).toContain('Can you deploy the café menu');
    const box = await panel(phone).boundingBox();
    expect(box!.width).toBeLessThanOrEqual(375);
    await checkA11y(phone, 'search results at phone width, dark');
    await phone.screenshot({ path: join(SCREENSHOTS, 'search-phone-dark.png') });
    await phone.keyboard.press('Escape');
    await expect.poll(() => panel(phone).isVisible()).toBe(false);
    await phone.context().close();
  }, 60_000);

  it('raised no page errors', () => {
    expect(web.problems).toEqual([]);
  });
});
