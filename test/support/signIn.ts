import { createHash, randomBytes } from 'node:crypto';
import type { DevServiceNow } from '../../dev/servicenow/instance.js';
import { call, type TestStack } from './stack.js';

export const REDIRECT_URI = 'com.flowquest.app://oauth/callback';

/** The app's PKCE sign-in against the development instance: authorize as a demo user, get the code. */
export async function authorize(sn: DevServiceNow, userName: string, clientId = 'flowquest-mobile') {
  const codeVerifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    state: 'st-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const user = sn.users.find((u) => u.userName === userName);
  if (!user) throw new Error(`no demo user ${userName}`);
  const res = await fetch(`${sn.url}/oauth_auth.do`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...Object.fromEntries(params), user: user.sysId }).toString(),
  });
  const location = res.headers.get('location') ?? '';
  const code = new URL(location).searchParams.get('code');
  if (res.status !== 302 || !code) throw new Error(`authorize failed: ${res.status} ${location}`);
  return { code, codeVerifier, redirectUri: REDIRECT_URI, user };
}

export interface SignedIn {
  sessionToken: string;
  accessToken: string;
  body: any;
}

/** Signs in through the bridge in exchange mode; returns the session token. */
export async function signIn(stack: TestStack, sn: DevServiceNow, instanceId: string, userName: string, deviceId = 'phone-1'): Promise<SignedIn> {
  const { code, codeVerifier, redirectUri } = await authorize(sn, userName);
  const res = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId, deviceId, code, codeVerifier, redirectUri } });
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { sessionToken: res.body.sessionToken, accessToken: res.body.accessToken, body: res.body };
}

export function asUser(token: string) {
  return { key: null, headers: { authorization: `Bearer ${token}` } } as const;
}
