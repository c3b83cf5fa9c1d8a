/**
 * A small ServiceNow development instance for local development and tests. NEVER deployed: the
 * sign-in page lets anyone in as any demo user.
 *
 * It speaks what the bridge and the app use of ServiceNow: OAuth 2.0 authorization code + PKCE
 * (`oauth_auth.do`, `oauth_token.do`, `oauth_revoke_token.do`), the Table API for `sys_user`,
 * `sys_user_grmember` and `sys_user_group`, and signed webhook events to the bridge. Tests can
 * inject faults, slow the token endpoint down, revoke a user's tokens and read counters.
 *
 * ```ts
 * const sn = await startDevServiceNow({ port: 0 });
 * const { accessToken } = sn.issueTokens('flowquest-mobile', sn.users[0].sysId);
 * await fetch(`${sn.url}/api/now/table/sys_user?sysparm_query=sys_id%3Djavascript%3Ags.getUserID()`, {
 *   headers: { authorization: `Bearer ${accessToken}` },
 * });
 * await sn.close();
 * ```
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Context, Stats } from './context.js';
import { FaultQueues } from './faults.js';
import { resolveOptions } from './options.js';
import { createRequestListener } from './routes.js';
import { buildTables } from './tables.js';
import { TokenStore } from './tokenStore.js';
import { WebhookSender } from './webhook.js';

export interface DevUser {
  sysId: string;
  userName: string;
  name: string;
  /** When set, the sign-in page asks for it, and HTTP Basic works on the Table API. */
  password?: string;
  /** Group sys_ids. */
  groups: string[];
}

export interface DevGroup {
  sysId: string;
  name: string;
}

export interface DevServiceNowOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7072; 0 = ephemeral. */
  port?: number;
  /** Default: one public client, 'flowquest-mobile'. Empty `redirectUris` = any loopback http(s) URI or private-use scheme. */
  clients?: Array<{ clientId: string; clientSecret?: string; redirectUris?: string[] }>;
  /** Default 1800 (ServiceNow's default). */
  accessTokenLifetimeSeconds?: number;
  /** Default 100 days (ServiceNow's default). */
  refreshTokenLifetimeSeconds?: number;
  /** Default false (ServiceNow's default): a refresh returns the same refresh token. When true, a new one, and the old stops working. */
  rotateRefreshTokens?: boolean;
  /** Default: the seed in seed.ts. */
  users?: DevUser[];
  groups?: DevGroup[];
  /** Request log sink; never given tokens, codes, secrets or verifiers. */
  log?: (line: string) => void;
}

export type Fault = { status: number; body?: unknown; retryAfter?: number } | { hang: true } | { invalidGrant: true };

export interface DevServiceNow {
  readonly url: string;
  readonly port: number;
  readonly users: readonly DevUser[];
  readonly groups: readonly DevGroup[];
  /** Counters for tests. */
  stats(): { tokenRequests: number; refreshGrants: number; codeGrants: number; revocations: number; tableRequests: number };
  /** The next `count` calls to oauth_token.do (or to the Table API for 'table') answer with this fault instead. */
  injectFault(target: 'token' | 'table', fault: Fault, count?: number): void;
  /** Milliseconds added before every oauth_token.do answer (to make concurrent refreshes overlap in tests). */
  setTokenLatency(ms: number): void;
  /** Invalidates every token of a user (as an admin revoking them in ServiceNow). */
  revokeUser(sysId: string): void;
  /** For tests: issue tokens directly, as if the user had signed in. */
  issueTokens(clientId: string, userSysId: string): { accessToken: string; refreshToken: string; expiresIn: number };
  /** Where signed sample events go (the bridge), and with which secret. */
  configureWebhook(target: { bridgeUrl: string; instanceId: string; secret: string } | null): void;
  /** Signs (Standard Webhooks) and POSTs an event envelope to the bridge; returns the bridge's status and body. */
  emit(event: object): Promise<{ status: number; body: unknown; webhookId: string }>;
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1'; // a reachable address for the url
  return host.includes(':') ? `[${host}]` : host;
}

const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startDevServiceNow(options: DevServiceNowOptions = {}): Promise<DevServiceNow> {
  const config = resolveOptions(options);
  const closing = new AbortController();
  const stats: Stats = { tokenRequests: 0, refreshGrants: 0, codeGrants: 0, revocations: 0, tableRequests: 0 };
  const store = new TokenStore({
    accessTokenSeconds: config.accessTokenSeconds,
    refreshTokenSeconds: config.refreshTokenSeconds,
    rotateRefreshTokens: config.rotateRefreshTokens,
  });
  const webhook = new WebhookSender(closing.signal, config.log);
  let url = `http://${urlHost(config.host)}:${config.port}`;
  const ctx: Context = {
    config,
    store,
    tables: buildTables(config),
    faults: new FaultQueues(),
    stats,
    webhook,
    closing: closing.signal,
    tokenLatencyMs: 0,
    // References link to the host the caller used, as the keyvault emulator does for ids.
    baseUrl: (req) => (req.headers.host && HOST_HEADER.test(req.headers.host) ? `http://${req.headers.host.toLowerCase()}` : url),
  };

  const server = createServer(createRequestListener(ctx));
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const port = await listen(server, config.port, config.host);
  url = `http://${urlHost(config.host)}:${port}`;

  const requireClient = (clientId: string): void => {
    if (!config.clients.has(clientId)) throw new TypeError(`Unknown client ${clientId}.`);
  };
  const requireUser = (sysId: string): void => {
    if (!config.usersById.has(sysId)) throw new TypeError(`Unknown user ${sysId}.`);
  };

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    users: config.users,
    groups: config.groups,
    stats: () => ({ ...stats }),
    injectFault: (target, fault, count = 1) => {
      if (target !== 'token' && target !== 'table') throw new TypeError(`injectFault: unknown target ${String(target)}.`);
      ctx.faults.add(target, fault, count);
    },
    setTokenLatency: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('setTokenLatency: ms must be a non-negative number.');
      ctx.tokenLatencyMs = ms;
    },
    revokeUser: (sysId) => {
      requireUser(sysId);
      store.revokeUser(sysId);
      config.log(`revoked every token of ${config.usersById.get(sysId)?.userName ?? sysId}`);
    },
    issueTokens: (clientId, userSysId) => {
      requireClient(clientId);
      requireUser(userSysId);
      return store.issue(clientId, userSysId);
    },
    configureWebhook: (target) => webhook.configure(target),
    emit: (event) => webhook.emit(event),
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        // First end what is waiting (latency, hanging answers, emits to the bridge), then the sockets.
        closing.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
