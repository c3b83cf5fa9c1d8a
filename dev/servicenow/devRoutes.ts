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

export async function handleEmit(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req);
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
