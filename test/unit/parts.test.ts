import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/lib/core/rateLimiter.js';
import { TtlCache } from '../../src/lib/core/ttlCache.js';
import { deadLetterId, parseDeadLetterId } from '../../src/lib/delivery/deadLetterStore.js';
import { DEAD_LETTER_AFTER_MS, nextStep } from '../../src/lib/delivery/retrySchedule.js';
import { baseUrlProblem, instanceBodySchema } from '../../src/lib/instances/instance.js';
import { allowsSend, DEFAULT_PREFERENCES } from '../../src/lib/preferences/preferences.js';
import { retryAfterSeconds } from '../../src/lib/servicenow/serviceNowClient.js';
import { openAccessToken, sealAccessToken, SessionKeys } from '../../src/lib/sessions/sessionKeys.js';
import { fromKey, toKey } from '../../src/lib/storage/keys.js';
import { VERSION } from '../../src/lib/version.js';
import pkg from '../../package.json' with { type: 'json' };

const clockAt = (t: { now: number }) => ({ now: () => t.now });

describe('retry schedule', () => {
  it('follows about 30 s, 1 m, 5 m, 30 m, 2 h, 6 h, then every 6 h, and dead-letters at 24 h', () => {
    const start = 1_000_000;
    const delays: number[] = [];
    let now = start;
    for (let attempts = 1; attempts <= 9; attempts++) {
      const step = nextStep(attempts, start, now);
      if ('deadLetter' in step) break;
      delays.push(step.retryAt - now);
      now = step.retryAt;
    }
    expect(delays.slice(0, 6)).toEqual([30_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000]);
    expect(now).toBe(start + DEAD_LETTER_AFTER_MS);
    expect(nextStep(10, start, start + DEAD_LETTER_AFTER_MS)).toEqual({ deadLetter: true });
  });
});

describe('preferences', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  it('mute, kinds and max priority', () => {
    expect(allowsSend(DEFAULT_PREFERENCES, { kind: 'incident.assigned', table: 'incident', priority: 4 }, now)).toBe(true);
    expect(allowsSend({ ...DEFAULT_PREFERENCES, mutedUntil: '2026-11-22T11:00:00Z' }, { kind: 'approval.requested', table: 'sysapproval_approver' }, now)).toBe(false);
    expect(allowsSend({ ...DEFAULT_PREFERENCES, mutedUntil: '2026-11-22T09:00:00Z' }, { kind: 'approval.requested', table: 'sysapproval_approver' }, now)).toBe(true);
    expect(allowsSend({ ...DEFAULT_PREFERENCES, maxPriority: 3 }, { kind: 'incident.assigned', table: 'incident', priority: 4 }, now)).toBe(false);
    expect(allowsSend({ ...DEFAULT_PREFERENCES, incidentAssigned: false }, { kind: 'incident.assigned', table: 'incident', priority: 1 }, now)).toBe(false);
    expect(allowsSend({ ...DEFAULT_PREFERENCES, approvalRequested: false }, { kind: 'approval.requested', table: 'sysapproval_approver' }, now)).toBe(false);
  });
});

describe('instance base URL', () => {
  it('https only, plain http to loopback only when allowed', () => {
    expect(baseUrlProblem('https://acme.service-now.com', false)).toBeUndefined();
    expect(baseUrlProblem('http://127.0.0.1:7072', false)).toMatch(/https/);
    expect(baseUrlProblem('http://127.0.0.1:7072', true)).toBeUndefined();
    expect(baseUrlProblem('http://localhost:7072', true)).toBeUndefined();
    expect(baseUrlProblem('http://acme.service-now.com', true)).toMatch(/https/);
    expect(baseUrlProblem('ftp://x', true)).toBeDefined();
    expect(baseUrlProblem('not a url', true)).toBeDefined();
    expect(baseUrlProblem('http://127.evil.example', true)).toMatch(/https/);
  });

  it('the admin body follows ALLOW_INSECURE_LOOPBACK', () => {
    const body = { name: 'Dev', baseUrl: 'http://127.0.0.1:7072', clientId: 'flowquest-mobile' };
    expect(instanceBodySchema(true).safeParse(body).success).toBe(true);
    const refused = instanceBodySchema(false).safeParse(body);
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['baseUrl']);
  });
});

describe('small parts', () => {
  it('table keys keep forbidden characters out and round-trip', () => {
    for (const id of ['a/b', 'x\\y#z?w', '100%', 'plain-ID_1', 'ünï']) {
      expect(toKey(id)).not.toMatch(/[/\\#?]/);
      expect(fromKey(toKey(id))).toBe(id);
    }
  });

  it('dead letter ids name their instance and event', () => {
    const id = deadLetterId('acme-prod', 'evt/1:2');
    expect(id).toMatch(/^dl_[A-Za-z0-9_-]+$/);
    expect(parseDeadLetterId(id)).toEqual({ instanceId: 'acme-prod', webhookId: 'evt/1:2' });
    expect(() => parseDeadLetterId('dl_garbage')).toThrow(/dead letter/i);
  });

  it('Retry-After as seconds or an HTTP date, bounded', () => {
    expect(retryAfterSeconds('7')).toBe(7);
    expect(retryAfterSeconds(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
    expect(retryAfterSeconds('999999')).toBe(3600);
    expect(retryAfterSeconds(null)).toBeUndefined();
    expect(retryAfterSeconds('soon')).toBeUndefined();
  });

  it('the rate limiter counts per key per window and says how long to wait', () => {
    const t = { now: 0 };
    const limiter = new RateLimiter(clockAt(t));
    expect([limiter.hit('a', 2), limiter.hit('a', 2), limiter.hit('a', 2)]).toEqual([0, 0, 60]);
    expect(limiter.hit('b', 2)).toBe(0);
    t.now = 60_000;
    expect(limiter.hit('a', 2)).toBe(0);
  });

  it('the cache serves a stale value when a reload fails, and shares concurrent loads', async () => {
    const t = { now: 0 };
    const cache = new TtlCache<string, number>(1000, clockAt(t));
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    t.now = 5000;
    expect(await cache.get('k', () => Promise.reject(new Error('vault down')))).toBe(1);
    await expect(cache.get('other', () => Promise.reject(new Error('vault down')))).rejects.toThrow('vault down');
  });

  it('access tokens are sealed with the session key and open only with it', async () => {
    const store = new Map<string, { value: string; version: string }>();
    const secrets = {
      async get(name: string, version?: string) {
        const s = store.get(name);
        return s && (!version || version === s.version) ? s : undefined;
      },
      async set(name: string, value: string) {
        store.set(name, { value, version: 'v1' });
        return { version: 'v1' };
      },
      async delete() {},
      async listVersions(name: string) {
        return store.has(name) ? ['v1'] : [];
      },
    };
    const keys = new SessionKeys(secrets, 'session-signing-key');
    const sealed = sealAccessToken('ServiceNow-access-token', await keys.current());
    expect(sealed).not.toContain('ServiceNow-access-token');
    expect(await openAccessToken(sealed, keys)).toBe('ServiceNow-access-token');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 0x01;
    const tampered = [...parts.slice(0, 3), body.toString('base64url')].join('.');
    expect(tampered).not.toBe(sealed);
    expect(await openAccessToken(tampered, keys)).toBeUndefined();
    expect(await keys.byKid('madeup')).toBeUndefined();
  });

  it('the reported version is the package version', () => {
    expect(VERSION).toBe(pkg.version);
  });
});
