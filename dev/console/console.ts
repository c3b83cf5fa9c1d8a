/**
 * The live console: the mobile app's stand-in in a browser, served by the local host at /console/.
 * It does what the app does (CONTRACT.md §5): PKCE sign-in against the instance's own authorize page,
 * a session from POST /api/sessions (exchange mode), GET /api/realtime/negotiate, a Web PubSub client
 * connection, the inbox for what was missed, DELETE /api/sessions/current. It also fires the shared
 * sample events through the development ServiceNow's POST /dev/emit.
 *
 * Bundled by build.ts (esbuild); FIXTURE_BUTTONS is filled in there.
 */
import { WebPubSubClient, WebPubSubJsonProtocol } from '@azure/web-pubsub-client';
import type { FixtureButton } from './fixtureButton.js';

declare const FIXTURE_BUTTONS: FixtureButton[];

interface PublicInstance {
  id: string;
  name: string;
  baseUrl: string;
  clientId: string;
  authorizeUrl: string;
}

interface User {
  sysId: string;
  userName: string;
  name: string;
}

/** What survives a reload of this tab (sessionStorage): never the ServiceNow tokens. */
interface Session {
  instanceId: string;
  sessionToken: string;
  user: User;
}

/** A pending sign-in, between the redirect to ServiceNow and the way back. */
interface PendingSignIn {
  state: string;
  codeVerifier: string;
  instanceId: string;
  redirectUri: string;
}

/** CONTRACT.md §3. */
interface Notification {
  id: string;
  kind: string;
  number?: string;
  title: string;
  priority?: number;
  updatedAt?: string;
}

interface Problem {
  code?: string;
  title?: string;
  detail?: string;
  message?: string;
}

const SESSION_KEY = 'flowquest.console.session';
const PENDING_KEY = 'flowquest.console.pending';
const DEVICE_KEY = 'flowquest.console.deviceId';
/** Seconds between reconnection attempts, the last one repeating. */
const RECONNECT_DELAYS = [1, 2, 5, 10, 30];

/** The session ended on the bridge's side (401): sign in again. */
class SessionEnded extends Error {}

// ---------------------------------------------------------------------------------------------- the page

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

const ui = {
  instance: element<HTMLSelectElement>('instance'),
  signIn: element<HTMLButtonElement>('sign-in'),
  signedOut: element('signed-out'),
  signedIn: element('signed-in'),
  userName: element('user-name'),
  userLogin: element('user-login'),
  sessionInstance: element('session-instance'),
  signOut: element<HTMLButtonElement>('sign-out'),
  accountMessage: element('account-message'),
  connectionState: element('connection-state'),
  connectionReason: element('connection-reason'),
  fireButtons: element('fire-buttons'),
  fireResult: element('fire-result'),
  notifications: element<HTMLUListElement>('notifications'),
  notificationCount: element('notification-count'),
  notificationsEmpty: element('notifications-empty'),
};

function say(target: HTMLElement, text: string, tone: 'info' | 'error' = 'info'): void {
  target.textContent = text;
  target.dataset.tone = tone;
}

type ConnectionState = 'connecting' | 'connected' | 'disconnected';

function showConnection(state: ConnectionState, reason = ''): void {
  ui.connectionState.textContent = state;
  ui.connectionState.dataset.state = state;
  ui.connectionReason.textContent = reason;
}

// ------------------------------------------------------------------------------------------ HTTP helpers

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describeProblem(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const p = body as Problem;
    const text = p.detail ?? p.message ?? p.title;
    if (p.code || text) return `${status} ${[p.code, text].filter(Boolean).join(': ')}`;
  }
  return `${status} ${typeof body === 'string' && body ? body.slice(0, 200) : 'with no explanation'}`;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  // A WebSocket that fails to open rejects with its bare 'error' Event.
  if (error instanceof Event) return `the ${error.target instanceof WebSocket ? 'WebSocket' : 'connection'} could not be opened`;
  return String(error);
}

/** Calls the bridge (same origin); with a session, as that session. A 401 ends the session. */
async function api<T>(path: string, init: RequestInit & { session?: Session } = {}): Promise<T> {
  const { session, ...request } = init;
  const headers = new Headers(request.headers);
  if (session) headers.set('authorization', `Bearer ${session.sessionToken}`);
  if (request.body !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...request, headers });
  const body = await readBody(response);
  if (response.status === 401 && session) throw new SessionEnded(describeProblem(response.status, body));
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${describeProblem(response.status, body)}`);
  return body as T;
}

// ----------------------------------------------------------------------------------------- PKCE (RFC 7636)

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random bytes → 43 characters, the shortest verifier RFC 7636 §4.1 allows. */
function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** This page, without query: the redirect URI. A loopback URI, which the instance accepts on any port (RFC 8252 §7.3). */
function ownUrl(): string {
  return `${location.origin}${location.pathname}`;
}

function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = `console-${randomToken(9)}`;
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

// --------------------------------------------------------------------------------------------- instances

let instances: PublicInstance[] = [];

function selectedInstance(): PublicInstance | undefined {
  return instances.find((i) => i.id === ui.instance.value);
}

async function loadInstances(preferred: string | undefined): Promise<void> {
  try {
    instances = await api<PublicInstance[]>('/api/instances');
  } catch (error) {
    say(ui.accountMessage, `Could not list the instances: ${errorText(error)}`, 'error');
    return;
  }
  ui.instance.replaceChildren(
    ...instances.map((i) => {
      const option = document.createElement('option');
      option.value = i.id;
      option.textContent = `${i.name} (${i.id})`;
      return option;
    }),
  );
  const pick = instances.find((i) => i.id === preferred) ?? instances.find((i) => i.id === 'demo') ?? instances[0];
  if (pick) ui.instance.value = pick.id;
  if (instances.length === 0) say(ui.accountMessage, 'No instance is configured: `npm start` creates "demo".', 'error');
  ui.signIn.disabled = instances.length === 0;
  ui.fireButtons.querySelectorAll('button').forEach((button) => (button.disabled = instances.length === 0));
}

// ---------------------------------------------------------------------------------------------- sign-in

async function startSignIn(): Promise<void> {
  const instance = selectedInstance();
  if (!instance) return;
  ui.signIn.disabled = true;
  const pending: PendingSignIn = { state: randomToken(16), codeVerifier: randomToken(), instanceId: instance.id, redirectUri: ownUrl() };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const authorize = new URL(instance.authorizeUrl);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: instance.clientId,
    redirect_uri: pending.redirectUri,
    state: pending.state,
    code_challenge: await s256(pending.codeVerifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(authorize.toString());
}

/** Back from the authorize page with `?code&state` or `?error`: check the state, redeem the code at the bridge. */
async function finishSignIn(params: URLSearchParams): Promise<Session | undefined> {
  const pending = readJson<PendingSignIn>(sessionStorage, PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, '', ownUrl()); // the code is single use: keep it out of the address bar and history
  if (!pending || params.get('state') !== pending.state) {
    say(ui.accountMessage, 'This sign-in answer does not belong to a sign-in started here (state mismatch): sign in again.', 'error');
    return undefined;
  }
  const error = params.get('error');
  if (error) {
    say(ui.accountMessage, `ServiceNow did not sign you in: ${params.get('error_description') ?? error}`, 'error');
    return undefined;
  }
  say(ui.accountMessage, 'Signing in…');
  try {
    const created = await api<{ sessionToken: string; user: User }>('/api/sessions', {
      method: 'POST',
      body: JSON.stringify({
        instanceId: pending.instanceId,
        deviceId: deviceId(),
        code: params.get('code') ?? '',
        codeVerifier: pending.codeVerifier,
        redirectUri: pending.redirectUri,
      }),
    });
    const session: Session = { instanceId: pending.instanceId, sessionToken: created.sessionToken, user: created.user };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    say(ui.accountMessage, '');
    return session;
  } catch (error) {
    say(ui.accountMessage, `Sign-in failed: ${errorText(error)}`, 'error');
    return undefined;
  }
}

function readJson<T>(storage: Storage, key: string): T | undefined {
  try {
    const text = storage.getItem(key);
    return text ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
}

function showSignedIn(session: Session | undefined): void {
  ui.signedOut.hidden = Boolean(session);
  ui.signedIn.hidden = !session;
  ui.instance.disabled = Boolean(session);
  if (session) {
    ui.userName.textContent = session.user.name;
    ui.userLogin.textContent = `(${session.user.userName})`;
    ui.sessionInstance.textContent = session.instanceId;
    if (instances.some((i) => i.id === session.instanceId)) ui.instance.value = session.instanceId;
  } else {
    ui.signIn.disabled = instances.length === 0;
    showConnection('disconnected', 'not signed in');
  }
}

async function signOut(): Promise<void> {
  const session = current;
  if (!session) return;
  ui.signOut.disabled = true;
  let message = 'Signed out.';
  try {
    // The bridge revokes the ServiceNow refresh token and ends the session.
    await api('/api/sessions/current', { method: 'DELETE', session });
  } catch (error) {
    if (!(error instanceof SessionEnded)) message = `Signed out here; the bridge did not confirm: ${errorText(error)}`;
  }
  endSession(message, message === 'Signed out.' ? 'info' : 'error');
  ui.signOut.disabled = false;
}

/** Forgets the session in this tab and stops the real-time connection. */
function endSession(message: string, tone: 'info' | 'error'): void {
  current = undefined;
  stopRealtime();
  sessionStorage.removeItem(SESSION_KEY);
  clearNotifications();
  showSignedIn(undefined);
  say(ui.accountMessage, message, tone);
}

// -------------------------------------------------------------------------------------------- real time

let current: Session | undefined;
let client: WebPubSubClient | undefined;
let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
let failures = 0;

/**
 * One client per session. Two choices, both so that the page shows the connection as it is:
 * - The SDK's own autoReconnect is off: its retry loop cannot be stopped while it waits between
 *   attempts (stop() only closes an open socket), and a 401 from negotiate must end the session
 *   rather than be retried. Every start calls getClientAccessUrl, i.e. negotiate again, so a
 *   reconnection gets a fresh URL and the user's current groups.
 * - The plain JSON subprotocol, not the SDK's default reliable one: with the reliable one a lost socket
 *   is silently "recovered" for up to 30 s (no event is emitted), so the page would say connected while
 *   it is not. What a gap loses is read back from the inbox on every connect.
 */
function startRealtime(session: Session): void {
  stopRealtime();
  const pubsub = new WebPubSubClient(
    {
      getClientAccessUrl: async () => (await api<{ url: string }>('/api/realtime/negotiate', { session })).url,
    },
    { autoReconnect: false, protocol: WebPubSubJsonProtocol() },
  );
  client = pubsub;
  // A client replaced or stopped while it was still connecting may connect anyway (stop() does not
  // cancel a start under way): whatever it does afterwards is ignored, and it is stopped.
  const mine = (): boolean => {
    if (client === pubsub) return true;
    pubsub.stop();
    return false;
  };
  let lastReason = 'the connection closed';
  pubsub.on('connected', () => {
    if (!mine()) return;
    failures = 0;
    showConnection('connected');
    void loadMissed(session);
  });
  pubsub.on('disconnected', (e) => {
    if (!mine()) return;
    lastReason = e.message?.message || 'the connection closed';
    showConnection('disconnected', lastReason);
  });
  pubsub.on('stopped', () => {
    if (client === pubsub) scheduleReconnect(pubsub, lastReason);
  });
  pubsub.on('server-message', (e) => {
    if (mine()) receive(e.message.data, 'to you');
  });
  pubsub.on('group-message', (e) => {
    if (mine()) receive(e.message.data, groupLabel(e.message.group));
  });
  void connect(pubsub);
}

async function connect(pubsub: WebPubSubClient): Promise<void> {
  if (client !== pubsub) return;
  showConnection('connecting', failures > 0 ? `attempt ${failures + 1}` : '');
  try {
    await pubsub.start();
  } catch (error) {
    if (client !== pubsub) return;
    if (error instanceof SessionEnded) {
      endSession(`Your session has ended (${error.message}): sign in again.`, 'error');
      return;
    }
    scheduleReconnect(pubsub, errorText(error));
  }
}

function scheduleReconnect(pubsub: WebPubSubClient, reason: string): void {
  const seconds = RECONNECT_DELAYS[Math.min(failures, RECONNECT_DELAYS.length - 1)] ?? 30;
  failures++;
  showConnection('disconnected', `${reason} — reconnecting in ${seconds} s`);
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(() => void connect(pubsub), seconds * 1000);
}

function stopRealtime(): void {
  clearTimeout(reconnectTimer);
  const pubsub = client;
  client = undefined;
  failures = 0;
  pubsub?.stop();
}

function groupLabel(group: string): string {
  if (group.endsWith(':critical')) return 'critical group';
  const sysId = /:group:([0-9a-f]+)$/.exec(group)?.[1];
  return sysId ? `your group ${sysId.slice(0, 8)}…` : `group ${group}`;
}

/** GET /api/notifications, every page: what was sent to this user while no connection was open. */
async function loadMissed(session: Session): Promise<void> {
  let after: string | null = null;
  try {
    for (let page = 0; page < 20 && current === session; page++) {
      const query: string = after ? `?after=${encodeURIComponent(after)}` : '';
      const inbox: { items: unknown[]; next: string | null } = await api(`/api/notifications${query}`, { session });
      for (const item of inbox.items) receive(item, 'from the inbox');
      after = inbox.next;
      if (!after) break;
    }
  } catch (error) {
    if (current !== session) return;
    if (error instanceof SessionEnded) endSession(`Your session has ended (${error.message}): sign in again.`, 'error');
    else say(ui.accountMessage, `Could not read the inbox: ${errorText(error)}`, 'error');
  }
}

// ---------------------------------------------------------------------------------------- notifications

const shown = new Map<string, HTMLLIElement>();

function asNotification(data: unknown): Notification | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const n = data as Record<string, unknown>;
  if (typeof n.id !== 'string' || typeof n.kind !== 'string' || typeof n.title !== 'string') return undefined;
  return {
    id: n.id,
    kind: n.kind,
    title: n.title,
    ...(typeof n.number === 'string' ? { number: n.number } : {}),
    ...(typeof n.priority === 'number' ? { priority: n.priority } : {}),
    ...(typeof n.updatedAt === 'string' ? { updatedAt: n.updatedAt } : {}),
  };
}

function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = className;
  s.textContent = text;
  return s;
}

/** Delivery is at-least-once (CONTRACT.md §3): a message already shown, by `id`, is dropped. */
function receive(data: unknown, via: string): void {
  const n = asNotification(data);
  if (!n || shown.has(n.id)) return;
  const item = document.createElement('li');
  item.dataset.id = n.id;
  item.dataset.kind = n.kind;
  if (n.priority !== undefined) item.dataset.priority = String(n.priority);

  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.append(span('kind', n.kind));
  if (n.priority !== undefined) meta.append(span(`priority p${n.priority}`, `P${n.priority}`));
  if (n.number) meta.append(span('number', n.number));
  if (n.updatedAt) {
    const time = document.createElement('time');
    time.dateTime = n.updatedAt;
    time.textContent = n.updatedAt.replace('T', ' ').replace(/Z$/, ' UTC');
    time.title = 'when the record was updated in ServiceNow';
    meta.append(time);
  }
  const title = document.createElement('p');
  title.className = 'title';
  title.textContent = n.title;
  const footer = span('via', `${via} · received ${new Date().toLocaleTimeString()}`);
  item.append(meta, title, footer);

  ui.notifications.prepend(item); // newest on top
  shown.set(n.id, item);
  updateCount();
}

function clearNotifications(): void {
  ui.notifications.replaceChildren();
  shown.clear();
  updateCount();
}

function updateCount(): void {
  ui.notificationCount.textContent = String(shown.size);
  ui.notificationsEmpty.hidden = shown.size > 0;
}

// ------------------------------------------------------------------------------------------ sample events

function renderFireButtons(): void {
  if (FIXTURE_BUTTONS.length === 0) {
    say(ui.fireResult, 'No shared fixtures were found (../shared/fixtures/servicenow).', 'error');
    return;
  }
  ui.fireButtons.replaceChildren(
    ...FIXTURE_BUTTONS.map((fixture) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.id = `fire-${fixture.name}`;
      button.disabled = true; // until the instances are known
      button.append(span('fixture-name', fixture.name));
      const about = [fixture.number, fixture.description].filter(Boolean).join(' · ') || [fixture.table, fixture.event].filter(Boolean).join(' ');
      if (about) button.append(span('fixture-about', about));
      button.addEventListener('click', () => void fire(fixture, button));
      return button;
    }),
  );
}

/**
 * The development ServiceNow signs the fixture and sends it to the bridge, as a business rule would.
 * It is another origin (the instance's base URL), which allows loopback origins for /dev/emit (CORS).
 */
async function fire(fixture: FixtureButton, button: HTMLButtonElement): Promise<void> {
  const instance = instances.find((i) => i.id === (current?.instanceId ?? ui.instance.value));
  if (!instance) return;
  button.disabled = true;
  say(ui.fireResult, `Sending ${fixture.file}…`);
  try {
    const response = await fetch(`${instance.baseUrl}/dev/emit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fixture: fixture.file }),
    });
    const body = (await readBody(response)) as { status?: string; notifications?: number } | undefined;
    if (response.ok && body?.status) {
      const count = typeof body.notifications === 'number' ? `, ${body.notifications} notification${body.notifications === 1 ? '' : 's'}` : '';
      say(ui.fireResult, `${fixture.file} → ${response.status} ${body.status}${count}`);
    } else {
      say(ui.fireResult, `${fixture.file} → ${describeProblem(response.status, body)}`, 'error');
    }
  } catch (error) {
    say(ui.fireResult, `${fixture.file}: the development ServiceNow at ${instance.baseUrl} could not be reached (${errorText(error)}).`, 'error');
  } finally {
    button.disabled = false;
  }
}

// ----------------------------------------------------------------------------------------------- start

async function main(): Promise<void> {
  renderFireButtons();
  ui.signIn.addEventListener('click', () => void startSignIn());
  // Back from the authorize page without signing in (the browser's back button, page restored from cache).
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && !current) ui.signIn.disabled = instances.length === 0;
  });
  ui.signOut.addEventListener('click', () => void signOut());

  const params = new URLSearchParams(location.search);
  const returning = params.has('state') && (params.has('code') || params.has('error'));
  let session = readJson<Session>(sessionStorage, SESSION_KEY);
  const pendingInstance = readJson<PendingSignIn>(sessionStorage, PENDING_KEY)?.instanceId;
  await loadInstances(session?.instanceId ?? pendingInstance);
  if (returning) session = (await finishSignIn(params)) ?? session;

  current = session;
  showSignedIn(session);
  if (session) startRealtime(session);
}

void main().catch((error: unknown) => say(ui.accountMessage, `The console failed to start: ${errorText(error)}`, 'error'));
