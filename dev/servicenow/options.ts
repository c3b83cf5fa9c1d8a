/**
 * Checks the options once, at start-up, and resolves the defaults: a bad seed fails
 * `startDevServiceNow` instead of the first sign-in.
 */
import type { DevGroup, DevServiceNowOptions, DevUser } from './instance.js';
import { DEFAULT_CLIENT_ID, DEFAULT_GROUPS, DEFAULT_USERS } from './seed.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7072;
/** ServiceNow's default access token lifespan (Application Registry, `access_token_lifespan`). */
export const DEFAULT_ACCESS_TOKEN_SECONDS = 1800;
/** ServiceNow's default refresh token lifespan: 8,640,000 s = 100 days. */
export const DEFAULT_REFRESH_TOKEN_SECONDS = 100 * 24 * 60 * 60;

export interface DevClient {
  readonly clientId: string;
  readonly clientSecret?: string;
  /** Empty: any loopback http(s) URI or private-use scheme (see redirectUris.ts). */
  readonly redirectUris: readonly string[];
}

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly clients: ReadonlyMap<string, DevClient>;
  readonly accessTokenSeconds: number;
  readonly refreshTokenSeconds: number;
  readonly rotateRefreshTokens: boolean;
  readonly users: readonly DevUser[];
  readonly groups: readonly DevGroup[];
  readonly usersById: ReadonlyMap<string, DevUser>;
  readonly groupsById: ReadonlyMap<string, DevGroup>;
  /** The user a client-credentials token acts as (ServiceNow: the registry's "OAuth Application User"). */
  readonly serviceUser: DevUser;
  /** Never throws: a failing sink must not break request handling. */
  readonly log: (line: string) => void;
}

const SYS_ID = /^[0-9a-f]{32}$/;

/** `beth.anglin` → `beth-anglin`: the sign-in page's element ids, usable in a selector without escaping. */
export function slug(userName: string): string {
  return userName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'user';
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < 1) throw new RangeError(`${what} must be a positive integer of seconds.`);
  return result;
}

function frozenCopy<T extends object>(value: T): Readonly<T> {
  return Object.freeze({ ...value });
}

function resolveGroups(groups: readonly DevGroup[]): Map<string, DevGroup> {
  const byId = new Map<string, DevGroup>();
  for (const group of groups) {
    if (!SYS_ID.test(group.sysId)) throw new TypeError(`Group sys_id must be 32 lowercase hex characters: ${group.sysId}`);
    if (!group.name) throw new TypeError(`Group ${group.sysId} needs a name.`);
    if (byId.has(group.sysId)) throw new TypeError(`Duplicate group sys_id ${group.sysId}.`);
    byId.set(group.sysId, frozenCopy(group));
  }
  return byId;
}

function resolveUsers(users: readonly DevUser[], groups: ReadonlyMap<string, DevGroup>): Map<string, DevUser> {
  if (users.length === 0) throw new TypeError('At least one user is needed.');
  const byId = new Map<string, DevUser>();
  const names = new Set<string>();
  for (const user of users) {
    if (!SYS_ID.test(user.sysId)) throw new TypeError(`User sys_id must be 32 lowercase hex characters: ${user.sysId}`);
    if (byId.has(user.sysId)) throw new TypeError(`Duplicate user sys_id ${user.sysId}.`);
    if (!user.userName || !user.name) throw new TypeError(`User ${user.sysId} needs a userName and a name.`);
    if (names.has(slug(user.userName))) throw new TypeError(`Duplicate user name ${user.userName} (names are compared as page ids).`);
    for (const groupId of user.groups) {
      if (!groups.has(groupId)) throw new TypeError(`User ${user.userName} is in unknown group ${groupId}.`);
    }
    names.add(slug(user.userName));
    byId.set(user.sysId, Object.freeze({ ...user, groups: Object.freeze([...new Set(user.groups)]) as string[] }));
  }
  return byId;
}

function resolveClients(clients: DevServiceNowOptions['clients']): Map<string, DevClient> {
  const list = clients ?? [{ clientId: DEFAULT_CLIENT_ID }];
  if (list.length === 0) throw new TypeError('At least one OAuth client is needed.');
  const byId = new Map<string, DevClient>();
  for (const client of list) {
    if (!/^[\x21-\x7e]{1,256}$/.test(client.clientId)) throw new TypeError(`Invalid client id: ${JSON.stringify(client.clientId)}`);
    if (byId.has(client.clientId)) throw new TypeError(`Duplicate client id ${client.clientId}.`);
    if (client.clientSecret !== undefined && client.clientSecret === '') {
      throw new TypeError(`Client ${client.clientId}: an empty secret is not a secret; leave it out for a public client.`);
    }
    for (const uri of client.redirectUris ?? []) {
      let parsed: URL;
      try {
        parsed = new URL(uri);
      } catch {
        throw new TypeError(`Client ${client.clientId}: redirect URI is not absolute: ${uri}`);
      }
      // RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
      if (parsed.hash || uri.includes('#')) throw new TypeError(`Client ${client.clientId}: redirect URI has a fragment: ${uri}`);
    }
    byId.set(
      client.clientId,
      Object.freeze({
        clientId: client.clientId,
        ...(client.clientSecret !== undefined ? { clientSecret: client.clientSecret } : {}),
        redirectUris: Object.freeze([...(client.redirectUris ?? [])]),
      }),
    );
  }
  return byId;
}

function safeLog(sink: ((line: string) => void) | undefined): (line: string) => void {
  if (!sink) return () => {};
  return (line) => {
    try {
      sink(line);
    } catch {
      // A failing log sink must not break request handling.
    }
  };
}

export function resolveOptions(options: DevServiceNowOptions = {}): Config {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`Invalid port ${String(port)}.`);
  const groupsById = resolveGroups(options.groups ?? DEFAULT_GROUPS);
  const usersById = resolveUsers(options.users ?? DEFAULT_USERS, groupsById);
  const users = Object.freeze([...usersById.values()]);
  return {
    host: options.host ?? DEFAULT_HOST,
    port,
    clients: resolveClients(options.clients),
    accessTokenSeconds: positiveInteger(options.accessTokenLifetimeSeconds, DEFAULT_ACCESS_TOKEN_SECONDS, 'accessTokenLifetimeSeconds'),
    refreshTokenSeconds: positiveInteger(options.refreshTokenLifetimeSeconds, DEFAULT_REFRESH_TOKEN_SECONDS, 'refreshTokenLifetimeSeconds'),
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    users,
    groups: Object.freeze([...groupsById.values()]),
    usersById,
    groupsById,
    serviceUser: users.find((u) => u.userName === 'admin') ?? (users[0] as DevUser),
    log: safeLog(options.log),
  };
}
