import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SecretStore } from '../azure/secretStore.js';
import type { AuditLog } from '../audit/auditLog.js';
import type { Clock } from '../core/clock.js';
import { ProblemError } from '../core/errors.js';
import type { RateLimiter } from '../core/rateLimiter.js';
import { parseOr422 } from '../core/validation.js';
import type { Instance } from '../instances/instance.js';
import type { InstanceService } from '../instances/instanceService.js';
import { UpstreamError, type OAuthClient, type ServiceNowClient, type ServiceNowUser, type TokenSet } from '../servicenow/serviceNowClient.js';
import { sealAccessToken, type SessionKeys } from './sessionKeys.js';
import type { Session, SessionStore } from './sessionStore.js';
import { bearer, issueSessionToken, verifySessionToken } from './sessionToken.js';
import type { AccessToken, TokenBroker } from './tokenBroker.js';

const common = {
  instanceId: z.string().min(1).max(63),
  deviceId: z.string().trim().min(1).max(200),
};
/** Store mode (the app did PKCE itself) or exchange mode (the bridge redeems the code). */
export const signInSchema = z.union([
  z.object({ ...common, accessToken: z.string().min(1).max(8192), refreshToken: z.string().min(1).max(8192), expiresIn: z.number().int().min(1).max(31_536_000).optional() }).strict(),
  z.object({ ...common, code: z.string().min(1).max(4096), codeVerifier: z.string().regex(/^[A-Za-z0-9\-._~]{43,128}$/, 'an RFC 7636 code verifier'), redirectUri: z.string().min(1).max(2048) }).strict(),
]);

export interface SignInResult {
  sessionToken: string;
  sessionExpiresAt: number;
  user: ServiceNowUser;
  accessToken: string;
  accessTokenExpiresAt: number;
}

export interface SessionServiceDeps {
  sessions: SessionStore;
  keys: SessionKeys;
  secrets: SecretStore;
  serviceNow: ServiceNowClient;
  instances: InstanceService;
  broker: TokenBroker;
  audit: AuditLog;
  rateLimiter: RateLimiter;
  clock: Clock;
  signInLimitPerMinute: number;
  tokenLimitPerMinute: number;
}

/** lastUsedAt is written at most this often per session, so that using a session is not a write per call. */
const LAST_USED_RESOLUTION_MS = 60_000;

function upstreamProblem(error: unknown, authDetail: string): never {
  if (error instanceof UpstreamError) {
    if (error.kind === 'invalid_grant' || error.kind === 'unauthorized') throw new ProblemError('AUTH_FAILED', authDetail);
    throw new ProblemError('UPSTREAM_UNAVAILABLE', 'ServiceNow is not answering; retry later.', { retryAfter: error.retryAfter ?? 5 });
  }
  throw error;
}

export class SessionService {
  constructor(private readonly deps: SessionServiceDeps) {}

  private async oauthClient(instance: Instance): Promise<OAuthClient> {
    const clientSecret = await this.deps.instances.clientSecret(instance);
    return { baseUrl: instance.baseUrl, clientId: instance.clientId, ...(clientSecret ? { clientSecret } : {}) };
  }

  async signIn(body: unknown): Promise<SignInResult> {
    const input = parseOr422(signInSchema, body, 'INVALID_REQUEST', 'The sign-in request is invalid.');
    const instance = await this.deps.instances.require(input.instanceId);
    const wait = this.deps.rateLimiter.hit(`signin:${instance.id}`, this.deps.signInLimitPerMinute);
    if (wait > 0) throw new ProblemError('RATE_LIMITED', 'Too many sign-ins for this instance; retry later.', { retryAfter: wait });

    const now = this.deps.clock.now();
    let tokens: TokenSet & { refreshToken: string };
    let user: ServiceNowUser;
    try {
      if ('code' in input) {
        const redeemed = await this.deps.serviceNow.redeemCode(await this.oauthClient(instance), input.code, input.codeVerifier, input.redirectUri);
        if (!redeemed.refreshToken) throw new UpstreamError('unauthorized', 200);
        tokens = { ...redeemed, refreshToken: redeemed.refreshToken };
      } else {
        tokens = { accessToken: input.accessToken, refreshToken: input.refreshToken, expiresIn: input.expiresIn ?? 1800 };
      }
      user = await this.deps.serviceNow.currentUser(instance.baseUrl, tokens.accessToken);
    } catch (error) {
      await this.deps.audit.record({ action: 'session.signin', instanceId: instance.id, actor: `device:${input.deviceId.slice(0, 64)}`, outcome: 'failure', detail: error instanceof UpstreamError ? error.kind : 'error' });
      upstreamProblem(error, 'ServiceNow rejected the code or the token.');
    }

    const sid = randomBytes(16).toString('hex');
    const refreshSecretName = `rt-${sid}`;
    await this.deps.secrets.set(refreshSecretName, tokens.refreshToken, {
      contentType: 'refresh-token',
      tags: { instanceId: instance.id, userSysId: user.sysId, sid, purpose: 'refresh-token' },
      // Only when ServiceNow says how long the refresh token lives (its default is 100 days, but an
      // instance's OAuth entity may set another lifetime, so none is assumed).
      ...(tokens.refreshExpiresIn ? { expiresOn: new Date(now + tokens.refreshExpiresIn * 1000) } : {}),
    });
    const sub = `${instance.id}:${user.sysId}`;
    const issued = await issueSessionToken(this.deps.keys, sub, sid, now);
    const accessTokenExpiresAt = now + tokens.expiresIn * 1000;
    const session: Session = {
      sid,
      instanceId: instance.id,
      userSysId: user.sysId,
      userName: user.userName,
      name: user.name,
      deviceId: input.deviceId,
      status: 'active',
      createdAt: now,
      lastUsedAt: now,
      expiresAt: issued.expiresAt,
      refreshSecretName,
      accessTokenSealed: sealAccessToken(tokens.accessToken, await this.deps.keys.current()),
      accessTokenExpiresAt,
      leaseUntil: 0,
    };
    await this.deps.sessions.create(session);
    await this.deps.audit.record({ action: 'session.signin', instanceId: instance.id, actor: sub, outcome: 'success', detail: `sid ${sid}` });
    return { sessionToken: issued.token, sessionExpiresAt: issued.expiresAt, user, accessToken: tokens.accessToken, accessTokenExpiresAt };
  }

  /**
   * The session behind an `Authorization: Bearer` header, or 401. A session ServiceNow stopped
   * accepting answers 401 REAUTH_REQUIRED only where a ServiceNow token is needed (`needsServiceNow`);
   * it can still list sessions, read its inbox and preferences, and sign out.
   */
  async authenticate(authorization: string | null, options: { needsServiceNow?: boolean } = {}): Promise<Session> {
    const now = this.deps.clock.now();
    const claims = await verifySessionToken(this.deps.keys, bearer(authorization), now);
    const cut = claims.sub.indexOf(':');
    const session = cut > 0 ? await this.deps.sessions.get(claims.sub.slice(0, cut), claims.sub.slice(cut + 1), claims.sid) : undefined;
    if (!session || session.status === 'ended' || session.expiresAt <= now) {
      throw new ProblemError('SESSION_INVALID', 'Sign in again: the session has ended or expired.');
    }
    if (session.status === 'reauth' && options.needsServiceNow) {
      throw new ProblemError('REAUTH_REQUIRED', 'ServiceNow no longer accepts this session: sign in again.');
    }
    if (now - session.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
      await this.deps.sessions.update(session, { lastUsedAt: now });
      return { ...session, lastUsedAt: now };
    }
    return session;
  }

  async accessToken(session: Session): Promise<AccessToken> {
    const wait = this.deps.rateLimiter.hit(`token:${session.sid}`, this.deps.tokenLimitPerMinute);
    if (wait > 0) throw new ProblemError('RATE_LIMITED', 'Too many token requests for this session; retry later.', { retryAfter: wait });
    return this.deps.broker.accessToken(session);
  }

  /** Revokes the refresh token at ServiceNow, deletes its secret and ends the session. */
  async end(session: Session, actor: string): Promise<void> {
    const instance = await this.deps.instances.find(session.instanceId);
    const secret = await this.deps.secrets.get(session.refreshSecretName);
    let revoked = 'revoked';
    if (instance && secret) {
      try {
        await this.deps.serviceNow.revoke(await this.oauthClient(instance), secret.value);
      } catch (error) {
        // The session ends anyway: without its secret the refresh token is never used again.
        if (!(error instanceof UpstreamError)) throw error;
        revoked = `revoke failed: ${error.kind}`;
      }
    }
    await this.deps.secrets.delete(session.refreshSecretName);
    // Unconditional: ending wins over a concurrent refresh or lastUsedAt update.
    await this.deps.sessions.update(session, { status: 'ended', accessTokenSealed: '', accessTokenExpiresAt: 0 });
    this.deps.broker.forget(session.sid);
    await this.deps.audit.record({ action: 'session.signout', instanceId: session.instanceId, actor, outcome: 'success', detail: `sid ${session.sid}; ${revoked}` });
  }

  async list(session: Session) {
    const all = await this.deps.sessions.listForUser(session.instanceId, session.userSysId);
    const now = this.deps.clock.now();
    return all
      .filter((s) => s.status !== 'ended' && s.expiresAt > now)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((s) => ({ sid: s.sid, deviceId: s.deviceId, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt, current: s.sid === session.sid }));
  }

  /** Daily clean-up: removes ended and expired sessions with their refresh-token secrets. */
  async purgeExpired(now: number): Promise<number> {
    const expired = await this.deps.sessions.listExpired(now);
    for (const session of expired) {
      await this.deps.secrets.delete(session.refreshSecretName);
      await this.deps.sessions.delete(session);
    }
    return expired.length;
  }

  /** Ends another session of the same user (a lost phone); 404 for a sid that is not this user's. */
  async endOther(session: Session, sid: string): Promise<void> {
    const other = /^[0-9a-f]{32}$/.test(sid) ? await this.deps.sessions.get(session.instanceId, session.userSysId, sid) : undefined;
    if (!other || other.status === 'ended') throw new ProblemError('SESSION_NOT_FOUND', 'This user has no such session.');
    await this.end(other, `${session.instanceId}:${session.userSysId}`);
  }
}
