/**
 * Authorization codes, grants (one sign-in of one user in one client, holding the refresh token)
 * and access tokens, in memory. Tokens are opaque random strings like ServiceNow's (86
 * characters of base64url), never JWTs: nothing but this store can read them.
 *
 * Revoking a refresh token ends its grant and so every access token issued under it; revoking
 * an access token ends only that one (ServiceNow marks just the given token expired).
 */
import { randomBytes } from 'node:crypto';

/** RFC 6749 §4.1.2 recommends at most 10 minutes; this instance gives 60 seconds. */
export const CODE_TTL_MS = 60_000;

export interface CodeRecord {
  readonly clientId: string;
  readonly userSysId: string;
  readonly redirectUri: string;
  /** Whether the authorization request named the redirect URI (then the token request must repeat it). */
  readonly redirectUriGiven: boolean;
  readonly codeChallenge: string;
  readonly expiresAt: number;
}

interface Grant {
  readonly id: string;
  readonly clientId: string;
  readonly userSysId: string;
  refreshToken: string;
  refreshExpiresAt: number;
}

interface AccessRecord {
  readonly clientId: string;
  readonly userSysId: string;
  /** Absent for client-credentials tokens, which have no refresh token. */
  readonly grantId?: string;
  readonly expiresAt: number;
}

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface TokenStoreOptions {
  accessTokenSeconds: number;
  refreshTokenSeconds: number;
  rotateRefreshTokens: boolean;
  now?: () => number;
}

export type RefreshResult = { ok: true; tokens: TokenSet } | { ok: false; reason: string };

function opaque(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export class TokenStore {
  private readonly codes = new Map<string, CodeRecord>();
  private readonly grants = new Map<string, Grant>();
  private readonly grantByRefresh = new Map<string, Grant>();
  private readonly access = new Map<string, AccessRecord>();
  private readonly now: () => number;

  constructor(private readonly options: TokenStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  createCode(record: Omit<CodeRecord, 'expiresAt'>): string {
    this.sweep();
    const code = opaque(32);
    this.codes.set(code, { ...record, expiresAt: this.now() + CODE_TTL_MS });
    return code;
  }

  /** Single use: a code is gone after the first attempt to redeem it, whether that attempt succeeds or not. */
  takeCode(code: string): CodeRecord | undefined {
    const record = this.codes.get(code);
    this.codes.delete(code);
    return record && record.expiresAt > this.now() ? record : undefined;
  }

  /** A new grant: what a sign-in (or `issueTokens`) gives. */
  issue(clientId: string, userSysId: string): TokenSet {
    this.sweep();
    const grant: Grant = {
      id: opaque(12),
      clientId,
      userSysId,
      refreshToken: opaque(64),
      refreshExpiresAt: this.now() + this.options.refreshTokenSeconds * 1000,
    };
    this.grants.set(grant.id, grant);
    this.grantByRefresh.set(grant.refreshToken, grant);
    return { accessToken: this.newAccessToken(clientId, userSysId, grant.id), refreshToken: grant.refreshToken, expiresIn: this.options.accessTokenSeconds };
  }

  /** Client credentials: an access token only. */
  issueAccessOnly(clientId: string, userSysId: string): { accessToken: string; expiresIn: number } {
    this.sweep();
    return { accessToken: this.newAccessToken(clientId, userSysId), expiresIn: this.options.accessTokenSeconds };
  }

  /**
   * A new access token for a valid refresh token of this client. The refresh token stays the same
   * and keeps its expiry (ServiceNow's default) unless rotation is on: then the old one stops working
   * and the new one gets a full lifetime.
   */
  refresh(refreshToken: string, clientId: string): RefreshResult {
    const grant = this.grantByRefresh.get(refreshToken);
    if (!grant || grant.refreshExpiresAt <= this.now()) {
      return { ok: false, reason: 'The refresh token is invalid, expired or revoked.' };
    }
    // RFC 6749 §6: the refresh token is bound to the client it was issued to.
    if (grant.clientId !== clientId) return { ok: false, reason: 'The refresh token was issued to another client.' };
    if (this.options.rotateRefreshTokens) {
      this.grantByRefresh.delete(grant.refreshToken);
      grant.refreshToken = opaque(64);
      grant.refreshExpiresAt = this.now() + this.options.refreshTokenSeconds * 1000;
      this.grantByRefresh.set(grant.refreshToken, grant);
    }
    return {
      ok: true,
      tokens: { accessToken: this.newAccessToken(clientId, grant.userSysId, grant.id), refreshToken: grant.refreshToken, expiresIn: this.options.accessTokenSeconds },
    };
  }

  /** The user and client of a live access token. */
  authenticate(accessToken: string): { userSysId: string; clientId: string } | undefined {
    const record = this.access.get(accessToken);
    if (!record) return undefined;
    if (record.expiresAt <= this.now() || (record.grantId !== undefined && !this.grants.has(record.grantId))) {
      this.access.delete(accessToken);
      return undefined;
    }
    return { userSysId: record.userSysId, clientId: record.clientId };
  }

  /** RFC 7009: an unknown token is not an error, so this never says whether it knew the token. */
  revoke(token: string): void {
    const grant = this.grantByRefresh.get(token);
    if (grant) this.endGrant(grant);
    this.access.delete(token);
  }

  /** Every code, grant and access token of the user. */
  revokeUser(userSysId: string): void {
    for (const [code, record] of this.codes) if (record.userSysId === userSysId) this.codes.delete(code);
    for (const grant of [...this.grants.values()]) if (grant.userSysId === userSysId) this.endGrant(grant);
    for (const [token, record] of this.access) if (record.userSysId === userSysId) this.access.delete(token);
  }

  private endGrant(grant: Grant): void {
    this.grants.delete(grant.id);
    this.grantByRefresh.delete(grant.refreshToken);
    for (const [token, record] of this.access) if (record.grantId === grant.id) this.access.delete(token);
  }

  private newAccessToken(clientId: string, userSysId: string, grantId?: string): string {
    const token = opaque(64);
    this.access.set(token, {
      clientId,
      userSysId,
      ...(grantId !== undefined ? { grantId } : {}),
      expiresAt: this.now() + this.options.accessTokenSeconds * 1000,
    });
    return token;
  }

  /** Drops what has expired, so a long-running instance does not grow without bound. */
  private sweep(): void {
    const now = this.now();
    for (const [code, record] of this.codes) if (record.expiresAt <= now) this.codes.delete(code);
    for (const [token, record] of this.access) if (record.expiresAt <= now) this.access.delete(token);
    for (const grant of [...this.grants.values()]) if (grant.refreshExpiresAt <= now) this.endGrant(grant);
  }
}
