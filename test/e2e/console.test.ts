// The live console (dev/console) in headless Chromium, against the whole test stack and a development
// ServiceNow: what a person does with it, and what they see.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR } from '../../dev/stack.js';
import { startDevServiceNow, type DevServiceNow } from '../../dev/servicenow/instance.js';
import { call, createInstance, startTestStack, type TestStack } from '../support/stack.js';

/** Debian's chromium package; CHROMIUM_PATH points elsewhere (another Chromium or Chrome). */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The machine has no network: nothing may phone home. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.join(PROJECT_DIR, 'test-artifacts');
const TITLE = 'Email server down for the whole EMEA region';

let stack: TestStack;
let sn: DevServiceNow;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The console test drives Chromium, and there is none at ${CHROMIUM}. Install it (Debian/Ubuntu): ` +
        `sudo apt-get update && sudo apt-get install -y chromium — or set CHROMIUM_PATH to a Chromium or Chrome executable.`,
    );
  }
  stack = await startTestStack();
  sn = await startDevServiceNow({ port: 0 });
  const secret = await createInstance(stack, 'demo', { name: 'Demo instance', baseUrl: sn.url });
  sn.configureWebhook({ bridgeUrl: stack.url, instanceId: 'demo', secret });
  // launch() gives the browser a fresh temporary profile (user-data dir) and removes it on close().
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await sn?.close();
  await stack?.close();
});

interface Shown {
  id: string;
  kind: string;
  priority: string;
  number: string;
  title: string;
}

function shownNotifications(page: Page): Promise<Shown[]> {
  return page.$$eval('#notifications li[data-id]', (items) =>
    items.map((li) => ({
      id: li.getAttribute('data-id') ?? '',
      kind: li.querySelector('.kind')?.textContent ?? '',
      priority: li.querySelector('.priority')?.textContent ?? '',
      number: li.querySelector('.number')?.textContent ?? '',
      title: li.querySelector('.title')?.textContent ?? '',
    })),
  );
}

const connected = (page: Page) => page.locator('#connection-state[data-state="connected"]').waitFor();

describe('live console', () => {
  it('signs in as Beth Anglin with PKCE, shows the P1 incident as it arrives, keeps the inbox, signs out', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    /** While Web PubSub is down on purpose, Chromium's own log of each refused WebSocket is expected. */
    let outage = false;
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (outage && /^WebSocket connection to 'ws:\/\/localhost:\d+\/client\/hubs\/.*ERR_CONNECTION_REFUSED/.test(message.text())) return;
      pageErrors.push(`${message.text()} ${message.location().url}`);
    });
    const consoleUrl = `${stack.url}/console/`;
    try {
      await page.goto(consoleUrl);
      await page.locator('#sign-in:not([disabled])').waitFor();
      expect(await page.locator('#instance').inputValue()).toBe('demo');
      expect(await page.textContent('#connection-state')).toBe('disconnected');

      // The real PKCE flow: the instance's authorize page, a demo user, back with a code.
      await page.click('#sign-in');
      await page.waitForURL((url) => url.href.startsWith(`${sn.url}/oauth_auth.do?`));
      const authorize = new URL(page.url()).searchParams;
      expect(authorize.get('redirect_uri')).toBe(consoleUrl);
      expect(authorize.get('code_challenge_method')).toBe('S256');
      expect(authorize.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await page.click('#user-beth-anglin');

      await page.locator('#user-name', { hasText: 'Beth Anglin' }).waitFor();
      await connected(page);
      expect(page.url()).toBe(consoleUrl); // the single-use code is gone from the address bar
      expect(await page.isVisible('#sign-in')).toBe(false);

      // Fire the P1 incident: assigned to Beth (a user message) and critical (to her groups).
      await page.click('#fire-incident-p1-inserted-assigned');
      await page.locator('#notifications li[data-kind="incident.assigned"]', { hasText: TITLE }).waitFor();
      await page.locator('#notifications li[data-kind="incident.critical"]', { hasText: TITLE }).waitFor();
      await page.locator('#fire-result', { hasText: '202 accepted' }).waitFor();
      const live = await shownNotifications(page);
      // Two group messages (critical, Network) carry the same id: shown once.
      expect(live).toHaveLength(2);
      expect(new Set(live.map((n) => n.id)).size).toBe(2);
      for (const n of live) expect(n).toMatchObject({ priority: 'P1', number: 'INC0010042', title: TITLE });
      expect(live.map((n) => n.kind).sort()).toEqual(['incident.assigned', 'incident.critical']);
      expect(await page.textContent('#notification-count')).toBe('2');

      await page.waitForTimeout(1_300); // let the arrival highlight fade before the picture
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });

      // A reload keeps the session (sessionStorage) and reads the inbox on connect: the user message is
      // there again, the group message is not (groups have no inbox, CONTRACT.md §3).
      const sessionToken = (await page.evaluate("JSON.parse(sessionStorage.getItem('flowquest.console.session') ?? '{}').sessionToken")) as string;
      expect(sessionToken).toBeTruthy();
      const asBeth = { key: null, headers: { authorization: `Bearer ${sessionToken}` } } as const;
      await expect.poll(async () => (await call(stack, 'notifications', asBeth)).body.items.length, { timeout: 10_000 }).toBe(1);
      await page.reload();
      await connected(page);
      await page.locator('#notifications li[data-kind="incident.assigned"]', { hasText: TITLE }).waitFor();
      expect((await shownNotifications(page)).map((n) => n.kind)).toEqual(['incident.assigned']);
      expect(await page.textContent('#user-name')).toBe('Beth Anglin');

      // A Web PubSub outage: the page says so, and reconnects with a fresh negotiate once it is back.
      const negotiations = () => stack.logs.filter((line) => line.includes("Executing 'Functions.negotiate'")).length;
      const before = negotiations();
      outage = true;
      await stack.stopWebPubSub();
      await page.locator('#connection-state[data-state="disconnected"]').waitFor();
      expect(await page.textContent('#connection-reason')).toMatch(/reconnecting in \d+ s/);
      await page.locator('#connection-reason', { hasText: 'the WebSocket could not be opened' }).waitFor();
      await stack.startWebPubSub();
      await connected(page);
      outage = false;
      expect(negotiations()).toBeGreaterThan(before);

      // Sign out: the bridge ends the session and revokes the ServiceNow refresh token.
      const revocations = sn.stats().revocations;
      await page.click('#sign-out');
      await page.locator('#sign-in').waitFor();
      expect(await page.textContent('#connection-state')).toBe('disconnected');
      expect(await page.locator('#notifications li').count()).toBe(0);
      expect(await page.evaluate("sessionStorage.getItem('flowquest.console.session')")).toBeNull();
      expect((await call(stack, 'notifications', asBeth)).status).toBe(401);
      expect(sn.stats().revocations).toBe(revocations + 1);
      expect(pageErrors).toEqual([]);
    } catch (error) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'console-failure.png'), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
  });
});
