import { jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import { ProblemError } from '../core/errors.js';
import type { SessionKeys } from './sessionKeys.js';

export const SESSION_ISSUER = 'flowquest-bridge';
export const SESSION_AUDIENCE = 'flowquest-mobile';
export const SESSION_LIFETIME_SECONDS = 30 * 24 * 3600;

export interface SessionClaims {
  /** `{instanceId}:{userSysId}` */
  sub: string;
  sid: string;
  exp: number;
}

export async function issueSessionToken(keys: SessionKeys, sub: string, sid: string, nowMs: number): Promise<{ token: string; expiresAt: number }> {
  const { kid, key } = await keys.current();
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + SESSION_LIFETIME_SECONDS;
  const token = await new SignJWT({ sid })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
    .setIssuer(SESSION_ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { token, expiresAt: exp * 1000 };
}

const invalid = () => new ProblemError('SESSION_INVALID', 'Sign in again: the session token is missing, invalid, expired or revoked.');

/**
 * Verifies a session token: HS256 only (so `alg: none` and algorithm confusion with an asymmetric key
 * are refused by jose before any key is used), our issuer and audience, not expired, and signed with a
 * key version that exists. Whether the session is still active is the caller's check against the table.
 */
export async function verifySessionToken(keys: SessionKeys, token: string, nowMs: number): Promise<SessionClaims> {
  try {
    const { payload } = await jwtVerify(
      token,
      async (header: JWTHeaderParameters) => {
        const key = header.kid ? await keys.byKid(header.kid) : undefined;
        if (!key) throw new Error('unknown key');
        return key;
      },
      {
        algorithms: ['HS256'],
        issuer: SESSION_ISSUER,
        audience: SESSION_AUDIENCE,
        currentDate: new Date(nowMs),
        requiredClaims: ['sub', 'sid', 'exp', 'iat'],
      },
    );
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.exp !== 'number') throw invalid();
    return { sub: payload.sub, sid: payload.sid, exp: payload.exp };
  } catch (error) {
    if (error instanceof ProblemError && error.code !== 'SESSION_INVALID') throw error;
    throw invalid();
  }
}

/** `Authorization: Bearer <token>` → token, or 401 SESSION_INVALID. */
export function bearer(header: string | null): string {
  const match = header ? /^Bearer\s+([A-Za-z0-9_\-.]+)\s*$/i.exec(header) : null;
  if (!match?.[1]) throw invalid();
  return match[1];
}
