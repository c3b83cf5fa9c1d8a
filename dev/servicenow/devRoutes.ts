/**
 * Helpers for a person (or a test) driving the instance: `GET /` (an index page) and
 * `POST /dev/emit` (sign and send an event to the configured bridge; answers with the bridge's status
 * and body, and the `webhook-id` it used as a header; 409 without a target, 502 when unreachable).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Context } from './context.js';
import { readFixture } from './fixtures.js';
import { mediaType, readBody, sendAny, sendHtml, sendJson } from './http.js';
import { indexPage } from './pages.js';

export async function handleIndex(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await readBody(req);
  sendHtml(res, 200, indexPage(ctx.config, ctx.baseUrl(req), ctx.webhook.url));
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * CORS for /dev/emit, loopback origins only: the live console (the Functions host's /console/, another
 * port) fires sample events from the browser. Only this development route gets it.
 */
function loopbackOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return undefined;
  try {
    const url = new URL(origin);
    const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(url.hostname);
    return loopback && (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin ? origin : undefined;
  } catch {
    return undefined;
  }
}

function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = loopbackOrigin(req);
  return origin ? { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'webhook-id', vary: 'Origin' } : { vary: 'Origin' };
}

export async function handleEmit(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req);
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
    if (!loopbackOrigin(req)) return sendJson(res, 403, { message: 'Only loopback origins may call /dev/emit from a browser.' }, { vary: 'Origin' });
    res.writeHead(204, {
      ...corsHeaders(req),
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type',
      'access-control-max-age': '600',
    });
    return void res.end();
  }
  for (const [name, value] of Object.entries(corsHeaders(req))) res.setHeader(name, value);
  if (req.method !== 'POST') return sendJson(res, 405, { message: 'Use POST.' }, { allow: 'POST' });
  if (!ctx.webhook.url) {
    return sendJson(res, 409, { message: 'No webhook target is configured (configureWebhook, or DEV_SERVICENOW_BRIDGE_URL for main.ts).' });
  }
  const input = mediaType(req) === 'application/json' ? parseJson(raw) : undefined;
  if (input === null || typeof input !== 'object') {
    return sendJson(res, 400, { message: 'Send JSON: { "fixture": "<file>.json" } or { "event": { … } }.' });
  }
  const { fixture, event } = input as { fixture?: unknown; event?: unknown };
  let payload: object;
  if (typeof fixture === 'string') {
    const loaded = await readFixture(fixture);
    if (!loaded.ok) return sendJson(res, loaded.status, { message: loaded.message });
    payload = loaded.event;
  } else if (event !== null && typeof event === 'object' && !Array.isArray(event)) {
    payload = event;
  } else {
    return sendJson(res, 400, { message: 'Send { "fixture": "<file>.json" } or { "event": { … } }.' });
  }
  try {
    const result = await ctx.webhook.emit(payload);
    // The bridge's own status and body; the id it was sent under goes in a header.
    sendAny(res, result.status, result.body, { 'webhook-id': result.webhookId });
  } catch (error) {
    if (ctx.closing.aborted) return;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    sendJson(res, 502, { message: `The bridge could not be reached: ${reason}` });
  }
}
