import { describe, expect, it } from 'vitest';
import { ProblemError } from '../../src/lib/core/errors.js';
import { parseWebhookHeaders } from '../../src/lib/webhooks/webhookHeaders.js';
import { sign, verifySignature, webhookKey } from '../../src/lib/webhooks/verifySignature.js';

// The Standard Webhooks specification's published example (also in its reference libraries' tests).
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: Buffer.from('{"test": 2432232314}'),
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const AT_SPEC_TIME = SPEC.timestamp * 1000;

function headers(values: Record<string, string>) {
  return parseWebhookHeaders(new Headers(values));
}

function specHeaders(signature = SPEC.signature, timestamp = String(SPEC.timestamp)) {
  return headers({ 'webhook-id': SPEC.id, 'webhook-timestamp': timestamp, 'webhook-signature': signature });
}

function codeOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    return (e as ProblemError).code;
  }
}

describe('Standard Webhooks verification', () => {
  it('computes the specification example signature', () => {
    const signature = sign(webhookKey(SPEC.secret), SPEC.id, SPEC.timestamp, SPEC.body).toString('base64');
    expect(`v1,${signature}`).toBe(SPEC.signature);
  });

  it('accepts the specification example', () => {
    expect(() => verifySignature(specHeaders(), SPEC.body, [webhookKey(SPEC.secret)], AT_SPEC_TIME)).not.toThrow();
  });

  it('rejects a tampered body, a wrong secret and a signature of another version', () => {
    const key = webhookKey(SPEC.secret);
    expect(codeOf(() => verifySignature(specHeaders(), Buffer.from('{"test": 2432232315}'), [key], AT_SPEC_TIME))).toBe('INVALID_SIGNATURE');
    const other = webhookKey('whsec_' + Buffer.alloc(32, 7).toString('base64'));
    expect(codeOf(() => verifySignature(specHeaders(), SPEC.body, [other], AT_SPEC_TIME))).toBe('INVALID_SIGNATURE');
    const v2 = SPEC.signature.replace('v1,', 'v2,');
    expect(codeOf(() => verifySignature(specHeaders(v2), SPEC.body, [key], AT_SPEC_TIME))).toBe('INVALID_SIGNATURE');
  });

  it('accepts when any of several listed signatures matches any key (rotation overlap)', () => {
    const bogus = 'v1,' + Buffer.alloc(32, 1).toString('base64');
    const list = `v1a,zzz v2,abc ${bogus} ${SPEC.signature}`.replace('v1a,zzz ', '');
    const other = webhookKey('whsec_' + Buffer.alloc(32, 9).toString('base64'));
    expect(() => verifySignature(specHeaders(list), SPEC.body, [other, webhookKey(SPEC.secret)], AT_SPEC_TIME)).not.toThrow();
  });

  it('rejects a signature of the wrong length without throwing anything else', () => {
    const short = 'v1,' + Buffer.alloc(8, 1).toString('base64');
    expect(codeOf(() => verifySignature(specHeaders(short), SPEC.body, [webhookKey(SPEC.secret)], AT_SPEC_TIME))).toBe('INVALID_SIGNATURE');
  });

  it('enforces the 300 s tolerance in both directions, inclusive', () => {
    const key = [webhookKey(SPEC.secret)];
    expect(() => verifySignature(specHeaders(), SPEC.body, key, AT_SPEC_TIME + 300_000)).not.toThrow();
    expect(() => verifySignature(specHeaders(), SPEC.body, key, AT_SPEC_TIME - 300_000)).not.toThrow();
    expect(codeOf(() => verifySignature(specHeaders(), SPEC.body, key, AT_SPEC_TIME + 301_000))).toBe('TIMESTAMP_OUT_OF_TOLERANCE');
    expect(codeOf(() => verifySignature(specHeaders(), SPEC.body, key, AT_SPEC_TIME - 301_000))).toBe('TIMESTAMP_OUT_OF_TOLERANCE');
  });
});

describe('webhook headers', () => {
  const good = { 'webhook-id': 'abc', 'webhook-timestamp': '1700000000', 'webhook-signature': SPEC.signature };

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('answers MISSING_HEADER without %s', (name) => {
    const values: Record<string, string> = { ...good };
    delete values[name];
    expect(codeOf(() => headers(values))).toBe('MISSING_HEADER');
  });

  it.each([
    ['an id with a dot', { 'webhook-id': 'a.b' }],
    ['an id over 128 characters', { 'webhook-id': 'x'.repeat(129) }],
    ['a timestamp that is not an integer', { 'webhook-timestamp': '17e8' }],
    ['a signature entry without a comma', { 'webhook-signature': 'v1' }],
  ])('answers INVALID_HEADER for %s', (_label, patch) => {
    expect(codeOf(() => headers({ ...good, ...patch }))).toBe('INVALID_HEADER');
  });

  it('ignores entries of other versions whatever their value (v1a is the asymmetric scheme)', () => {
    const parsed = headers({ ...good, 'webhook-signature': `v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=/x.y ${SPEC.signature}` });
    expect(parsed.signatures).toHaveLength(1);
  });

  it('keeps only v1 signatures', () => {
    const parsed = headers({ ...good, 'webhook-signature': `v2,AAAA ${SPEC.signature} v1a,BBBB`.replace(' v1a,BBBB', '') });
    expect(parsed.signatures).toHaveLength(1);
    expect(parsed.id).toBe('abc');
    expect(parsed.timestamp).toBe(1700000000);
  });
});
