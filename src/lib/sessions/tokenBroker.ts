import type { SecretStore } from '../azure/secretStore.js';
import type { AuditLog } from '../audit/auditLog.js';
import type { Clock } from '../core/clock.js';
import { ProblemError } from '../core/errors.js';
import type { InstanceService } from '../instances/instanceService.js';
import { statusOf } from '../storage/tableCall.js';
import { UpstreamError, type ServiceNowClient, type TokenSet } from '../servicenow/serviceNowClient.js';
import { openAccessToken, sealAccessToken, type SessionKeys } from './sessionKeys.js';
import type { Session, SessionStore } from './sessionStore.js';

/** An access token handed to the app is valid at least this much longer (CONTRACT.md §5). */
export const MIN_VALIDITY_MS = 5 * 60_000;
/** Upstream attempts on 5xx/timeouts before answering 503. */
const ATTEMPTS = 3;
const BACKOFF_BASE_MS = 200;

/**
 * How long one Function instance may hold the refresh of a session before others may take over: longer
 * than the longest refresh (every attempt timing out, plus backoff), so two refreshes never overlap.
 */
export function leaseFor(upstreamTimeoutMs: number): number {
  return ATTEMPTS * upstreamTimeoutMs + 2 * BACKOFF_BASE_MS * 2 ** ATTEMPTS + 1_000;
}

export interface AccessToken {
  accessToken: string;
  expiresAt: number;
}

export interface TokenBrokerDeps {
  sessions: SessionStore;
  keys: SessionKeys;
  secrets: SecretStore;
  serviceNow: ServiceNowClient;
  instances: InstanceService;
  audit: AuditLog;
  clock: Clock;
  /** See leaseFor(); the default suits a 10 s upstream timeout. */
  leaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const unavailable = (retryAfter = 5) =>
  new ProblemError('UPSTREAM_UNAVAILABLE', 'ServiceNow could not refresh the access token; retry later.', { retryAfter });

/**
 * Hands out ServiceNow access tokens valid ≥ 5 more minutes, refreshing them when needed with exactly
 * one upstream call however many requests arrive at once: an in-process single flight per session,
 * and across Function instances a short lease on the session row (ETag-conditional), taken only after
 * reading the row again, so an instance that lost the race uses the token the winner stored.
 */
export class TokenBroker {
  private readonly memory = new Map<string, AccessToken>();
  private readonly inFlight = new Map<string, Promise<AccessToken>>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly leaseMs: number;

  constructor(private readonly deps: TokenBrokerDeps) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = deps.random ?? Math.random;
    this.leaseMs = deps.leaseMs ?? leaseFor(10_000);
  }

  private fresh(token: AccessToken | undefined): token is AccessToken {
    return token !== undefined && token.expiresAt - this.deps.clock.now() >= MIN_VALIDITY_MS;
  }

  /** A token from the session row, if it is still fresh. */
  private async stored(session: Session): Promise<AccessToken | undefined> {
    if (session.accessTokenExpiresAt - this.deps.clock.now() < MIN_VALIDITY_MS) return undefined;
    const accessToken = await openAccessToken(session.accessTokenSealed, this.deps.keys);
    return accessToken ? { accessToken, expiresAt: session.accessTokenExpiresAt } : undefined;
  }

  async accessToken(session: Session): Promise<AccessToken> {
    const remembered = this.memory.get(session.sid);
    if (this.fresh(remembered)) return remembered;
    const fromRow = await this.stored(session);
    if (fromRow) {
      this.memory.set(session.sid, fromRow);
      return fromRow;
    }
    let running = this.inFlight.get(session.sid);
    if (!running) {
      running = this.refreshShared(session).finally(() => this.inFlight.delete(session.sid));
      this.inFlight.set(session.sid, running);
    }
    return running;
  }

  /** Forgets what this instance remembers of a session (sign-out). */
  forget(sid: string): void {
    this.memory.delete(sid);
  }

  private async refreshShared(session: Session): Promise<AccessToken> {
    // A caller waits for another instance's refresh at most as long as that refresh may take.
    const deadline = this.deps.clock.now() + this.leaseMs;
    for (;;) {
      const row = await this.deps.sessions.get(session.instanceId, session.userSysId, session.sid);
      if (!row || row.status === 'ended') throw new ProblemError('SESSION_INVALID', 'The session has ended.');
      if (row.status === 'reauth') throw new ProblemError('REAUTH_REQUIRED', 'Sign in to ServiceNow again.');
      const stored = await this.stored(row);
      if (stored) {
        this.memory.set(row.sid, stored);
        return stored;
      }
      const now = this.deps.clock.now();
      if (row.leaseUntil <= now) {
        let leased: Session | undefined;
        try {
          leased = await this.deps.sessions.acquireLease(row, now + this.leaseMs);
        } catch (error) {
          // 412: another instance changed the row first: read it again.
          if (statusOf(error) !== 412) throw error;
        }
        if (leased) {
          try {
            return await this.refreshUpstream(leased);
          } catch (error) {
            await this.release(leased);
            throw error;
          }
        }
      }
      if (this.deps.clock.now() > deadline) throw unavailable();
      await this.sleep(100 + this.random() * 100);
    }
  }

  private async refreshUpstream(leased: Session): Promise<AccessToken> {
    const instance = await this.deps.instances.find(leased.instanceId);
    if (!instance) throw new ProblemError('SESSION_INVALID', 'The ServiceNow instance of this session no longer exists.');
    const secret = await this.deps.secrets.get(leased.refreshSecretName);
    if (!secret) return this.requireSignIn(leased, 'refresh token missing');
    const client = {
      baseUrl: instance.baseUrl,
      clientId: instance.clientId,
      ...(await this.clientSecret(instance)),
    };
    let tokens: TokenSet | undefined;
    for (let attempt = 1; !tokens; attempt++) {
      try {
        tokens = await this.deps.serviceNow.refresh(client, secret.value);
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        if (error.kind === 'invalid_grant') return this.requireSignIn(leased, 'invalid_grant');
        if (error.kind === 'rate_limited' || error.kind === 'unauthorized' || attempt >= ATTEMPTS) {
          await this.deps.audit.record({ action: 'session.refresh', instanceId: leased.instanceId, actor: `${leased.instanceId}:${leased.userSysId}`, outcome: 'failure', detail: error.kind });
          // Honour ServiceNow's Retry-After instead of asking again sooner.
          throw unavailable(error.kind === 'rate_limited' ? error.retryAfter : 5);
        }
        // Exponential backoff with full jitter: 200 ms, 400 ms, … × [0.5, 1.5).
        await this.sleep(BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.5 + this.random()));
      }
    }
    if (tokens.refreshToken && tokens.refreshToken !== secret.value) {
      // This instance rotates refresh tokens: keep the new one (a new version of the same secret).
      await this.deps.secrets.set(leased.refreshSecretName, tokens.refreshToken, {
        contentType: 'refresh-token',
        tags: { instanceId: leased.instanceId, userSysId: leased.userSysId, sid: leased.sid, purpose: 'refresh-token' },
        ...(tokens.refreshExpiresIn ? { expiresOn: new Date(this.deps.clock.now() + tokens.refreshExpiresIn * 1000) } : {}),
      });
    }
    const token: AccessToken = { accessToken: tokens.accessToken, expiresAt: this.deps.clock.now() + tokens.expiresIn * 1000 };
    const key = await this.deps.keys.current();
    // Stored only while this instance still holds the lease (its leaseUntil value is the owner's mark;
    // other writers only touch lastUsedAt or end the session): never over another refresher's token.
    if (await this.stillLeased(leased)) {
      await this.deps.sessions.update(leased, { accessTokenSealed: sealAccessToken(token.accessToken, key), accessTokenExpiresAt: token.expiresAt, leaseUntil: 0 });
    }
    this.memory.set(leased.sid, token);
    return token;
  }

  private async clientSecret(instance: NonNullable<Awaited<ReturnType<InstanceService['find']>>>): Promise<{ clientSecret?: string }> {
    const value = await this.deps.instances.clientSecret(instance);
    return value ? { clientSecret: value } : {};
  }

  private async stillLeased(leased: Session): Promise<boolean> {
    const row = await this.deps.sessions.get(leased.instanceId, leased.userSysId, leased.sid);
    return row !== undefined && row.status === 'active' && row.leaseUntil === leased.leaseUntil;
  }

  private async release(leased: Session): Promise<void> {
    if (await this.stillLeased(leased).catch(() => false)) {
      await this.deps.sessions.update(leased, { leaseUntil: 0 }).catch(() => undefined);
    }
  }

  private async requireSignIn(leased: Session, detail: string): Promise<never> {
    // Only an active session becomes "sign in again": one that was ended meanwhile (its secret deleted
    // and its token revoked by a sign-out, which is why this refresh failed) stays ended.
    const row = await this.deps.sessions.get(leased.instanceId, leased.userSysId, leased.sid);
    if (!row || row.status !== 'active' || row.leaseUntil !== leased.leaseUntil) throw new ProblemError('SESSION_INVALID', 'The session has ended.');
    try {
      await this.deps.sessions.updateIf(row, { status: 'reauth', leaseUntil: 0 });
    } catch (error) {
      if (statusOf(error) === 412) throw new ProblemError('SESSION_INVALID', 'The session changed meanwhile; it may have ended.');
      throw error;
    }
    this.memory.delete(leased.sid);
    await this.deps.audit.record({ action: 'session.refresh', instanceId: leased.instanceId, actor: `${leased.instanceId}:${leased.userSysId}`, outcome: 'failure', detail });
    throw new ProblemError('REAUTH_REQUIRED', 'ServiceNow no longer accepts this session: sign in again.');
  }
}
