import { createHmac, timingSafeEqual } from 'node:crypto';
import { ProblemError } from '../core/errors.js';
import type { WebhookHeaders } from './webhookHeaders.js';

/** Standard Webhooks' default tolerance: a delivery older or newer than five minutes is refused (replay defence). */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;

/** The HMAC key of a `whsec_<base64>` secret: the bytes its base64 part decodes to. */
export function webhookKey(secret: string): Buffer {
  const base64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(base64, 'base64');
  if (key.length < 16) throw new Error('A webhook secret must decode to at least 16 bytes.');
  return key;
}

/** `base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))` over the raw body bytes. */
export function sign(key: Buffer, id: string, timestamp: number, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/**
 * Passes when |now − timestamp| ≤ 300 s and any listed v1 signature matches any key (the current secret
 * and, during a rotation, the previous one). Comparison is constant-time over equal-length buffers:
 * `timingSafeEqual` throws on different lengths, so a signature of the wrong length simply does not match.
 */
export function verifySignature(
  headers: WebhookHeaders,
  body: Uint8Array,
  keys: readonly Buffer[],
  nowMs: number,
): void {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (Math.abs(nowSeconds - headers.timestamp) > TIMESTAMP_TOLERANCE_SECONDS) {
    throw new ProblemError(
      'TIMESTAMP_OUT_OF_TOLERANCE',
      `webhook-timestamp must be within ${TIMESTAMP_TOLERANCE_SECONDS} seconds of the server time.`,
    );
  }
  for (const key of keys) {
    const expected = sign(key, headers.id, headers.timestamp, body);
    for (const candidate of headers.signatures) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return;
    }
  }
  throw new ProblemError('INVALID_SIGNATURE', 'No webhook-signature entry matches a valid secret of this instance.');
}
