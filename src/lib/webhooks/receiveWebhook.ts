import type { Clock } from '../core/clock.js';
import { ProblemError } from '../core/errors.js';
import type { RateLimiter } from '../core/rateLimiter.js';
import { parseOr422 } from '../core/validation.js';
import type { Delivery } from '../delivery/delivery.js';
import type { EventStore } from '../delivery/eventStore.js';
import type { EventRecord, Send } from '../delivery/types.js';
import type { InstanceService } from '../instances/instanceService.js';
import { buildNotification } from '../notifications/buildNotification.js';
import { allowsSend } from '../preferences/preferences.js';
import type { PreferenceStore } from '../preferences/preferenceStore.js';
import { DEFAULT_RULES } from '../rules/defaultRules.js';
import { matchEvent, type Match } from '../rules/matchEvent.js';
import { eventEnvelopeSchema, type EventEnvelope } from './envelope.js';
import { RETRY_DELAYS_MS } from '../delivery/retrySchedule.js';
import { assertJsonContentType, parseWebhookHeaders, type HeaderSource } from './webhookHeaders.js';
import { verifySignature } from './verifySignature.js';

export const MAX_BODY_BYTES = 64 * 1024;

export interface WebhookReceiverDeps {
  instances: InstanceService;
  events: EventStore;
  delivery: Delivery;
  preferences: PreferenceStore;
  rateLimiter: RateLimiter;
  clock: Clock;
}

export type WebhookResult =
  | { httpStatus: 202; body: { status: 'accepted'; id: string; notifications: number } }
  | { httpStatus: 202; body: { status: 'filtered'; id: string } }
  | { httpStatus: 200; body: { status: 'duplicate'; id: string } };

export interface IncomingWebhook {
  instanceId: string;
  headers: HeaderSource;
  body: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(body));
  } catch {
    throw new ProblemError('INVALID_JSON', 'The body is not valid UTF-8 JSON.');
  }
}

/**
 * The webhook pipeline of CONTRACT.md §1, checks in the contract's order: instance → size → headers,
 * timestamp and signature on the raw bytes → JSON → schema → dedupe → filter → fan-out.
 */
export class WebhookReceiver {
  constructor(private readonly deps: WebhookReceiverDeps) {}

  async receive(incoming: IncomingWebhook): Promise<WebhookResult> {
    const { instances, clock } = this.deps;
    const instance = await instances.require(incoming.instanceId);
    if (incoming.body.byteLength > MAX_BODY_BYTES) {
      throw new ProblemError('PAYLOAD_TOO_LARGE', `The body is over ${MAX_BODY_BYTES} bytes.`);
    }
    assertJsonContentType(incoming.headers);
    const headers = parseWebhookHeaders(incoming.headers);
    const { keys, complete } = await instances.webhookKeys(instance);
    try {
      verifySignature(headers, incoming.body, keys, clock.now());
    } catch (error) {
      if (!complete && error instanceof ProblemError && error.code === 'INVALID_SIGNATURE') {
        // A rotation's new secret could not be read: the signature may well be right. 503 makes
        // ServiceNow try again, where a 401 would drop the event.
        throw new ProblemError('KEY_VAULT_UNAVAILABLE', 'A webhook secret of this instance cannot be read right now; retry later.', { retryAfter: 5 });
      }
      throw error;
    }
    // Only signed requests count against an operator's limit, so strangers cannot use up its budget.
    if (instance.webhookRateLimitPerMinute !== null) {
      const wait = this.deps.rateLimiter.hit(`webhook:${instance.id}`, instance.webhookRateLimitPerMinute);
      if (wait > 0) throw new ProblemError('RATE_LIMITED', 'This instance has sent more webhooks than its limit allows.', { retryAfter: wait });
    }
    const event = parseOr422(eventEnvelopeSchema, parseJson(incoming.body), 'INVALID_EVENT', 'The event does not match the envelope v1 schema.');

    const matches = matchEvent(instance.rules ?? DEFAULT_RULES, event, instance.id);
    const sends = await this.plan(instance.id, matches, event, headers.id);
    const now = clock.now();
    const record: EventRecord = {
      instanceId: instance.id,
      webhookId: headers.id,
      // High-value but every recipient muted: accepted with nothing to send (CONTRACT.md §1: `filtered`
      // is for events that are not high-value).
      status: matches.length === 0 ? 'filtered' : sends.length > 0 ? 'pending' : 'delivered',
      receivedAt: now,
      windowStart: now,
      sends,
      pending: sends.map((_, i) => i),
      attempts: 0,
      inboxWritten: false,
      // If this Function instance dies before the first delivery, the outbox timer picks the event up.
      nextAttemptAt: now + RETRY_DELAYS_MS[0],
    };
    // Durable before acknowledged: the claim is the outbox record, written before any 2xx.
    if (!(await this.deps.events.claim(record))) {
      return { httpStatus: 200, body: { status: 'duplicate', id: headers.id } };
    }
    if (matches.length === 0) return { httpStatus: 202, body: { status: 'filtered', id: headers.id } };
    if (sends.length > 0) await this.deps.delivery.deliverNew(record);
    return { httpStatus: 202, body: { status: 'accepted', id: headers.id, notifications: sends.length } };
  }

  /** The sends an event causes: one per group, and one per user whose preferences allow it. */
  private async plan(instanceId: string, matches: Match[], event: EventEnvelope, eventId: string): Promise<Send[]> {
    const sends: Send[] = [];
    const seen = new Set<string>();
    for (const match of matches) {
      const message = buildNotification(event, match.kind, instanceId, eventId);
      for (const target of match.targets) {
        const key = `${target.type}|${target.id}|${message.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (target.type === 'user') {
          const prefs = await this.deps.preferences.get(instanceId, target.id.slice(instanceId.length + 1));
          const facts = { kind: match.kind, table: event.table, ...(message.priority !== undefined ? { priority: message.priority } : {}) };
          if (!allowsSend(prefs, facts, this.deps.clock.now())) continue;
        }
        sends.push({ target, message });
      }
    }
    return sends;
  }
}
