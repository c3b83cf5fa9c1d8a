/**
 * The Web PubSub emulator, driven only by the real SDK clients and raw `ws` sockets.
 * Each test asserts what an application would see: delivered messages, acks, errors,
 * HTTP statuses and close codes.
 */
import { once } from 'node:events';
import { networkInterfaces } from 'node:os';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import {
  WebPubSubClient,
  WebPubSubJsonProtocol,
  type GroupDataMessage,
  type OnConnectedArgs,
  type OnDisconnectedArgs,
  type ServerDataMessage,
  type WebPubSubClientOptions,
} from '@azure/web-pubsub-client';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWebPubSubEmulator, type WebPubSubEmulator } from '../../dev/webpubsub/emulator.js';

const HUB = 'flowquest';
const ACCESS_KEY = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH';
const WAIT_MS = 3000;

let emulator: WebPubSubEmulator;
let service: WebPubSubServiceClient;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  emulator = await startWebPubSubEmulator({ port: 0 });
  // The REST SDK refuses http:// endpoints unless told otherwise.
  service = new WebPubSubServiceClient(emulator.connectionString, HUB, { allowInsecureConnection: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await emulator.close();
});

/** Collects events in order; `next()` waits for the next unseen one. */
class Inbox<T> {
  readonly items: T[] = [];
  private read = 0;
  private waiters: Array<() => void> = [];

  push = (item: T): void => {
    this.items.push(item);
    for (const wake of this.waiters.splice(0)) wake();
  };

  async next(timeoutMs = WAIT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.items.length) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`Nothing arrived within ${timeoutMs} ms (got ${this.items.length} so far).`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.items[this.read++] as T;
  }
}

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('Condition not met in time.');
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Grant {
  userId?: string;
  groups?: string[];
  roles?: string[];
}

/** A real WebPubSubClient using a URL from the real service client. */
async function sdkClient(grant: Grant = {}, options: WebPubSubClientOptions = {}) {
  const client = new WebPubSubClient(
    // @azure/web-pubsub 1.2.0 has getClientAccessToken (→ { token, baseUrl, url }), no getClientAccessUrl.
    { getClientAccessUrl: async () => (await service.getClientAccessToken(grant)).url },
    {
      autoReconnect: false,
      messageRetryOptions: { maxRetries: 0 },
      // Short keep-alive: pings flow during the tests, and no long timers linger after stop().
      keepAliveIntervalInMs: 250,
      keepAliveTimeoutInMs: 3000,
      ...options,
    },
  );
  const server = new Inbox<ServerDataMessage>();
  const groups = new Inbox<GroupDataMessage>();
  const connected = new Inbox<OnConnectedArgs>();
  const disconnected = new Inbox<OnDisconnectedArgs>();
  const stopped = new Inbox<unknown>();
  client.on('server-message', (e) => server.push(e.message));
  client.on('group-message', (e) => groups.push(e.message));
  client.on('connected', connected.push);
  client.on('disconnected', disconnected.push);
  client.on('stopped', stopped.push);
  cleanups.push(() => client.stop());
  await client.start();
  const { connectionId } = await connected.next();
  return { client, server, groups, connected, disconnected, stopped, connectionId };
}

/** A raw `ws` socket, for exact wire shapes. Resolves once open. */
async function rawClient(url: string, protocol?: string) {
  const socket = new WebSocket(url, protocol ? [protocol] : []);
  const messages = new Inbox<Record<string, unknown>>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
  cleanups.push(() => socket.terminate());
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, messages, closed, send: (m: unknown) => socket.send(JSON.stringify(m)) };
}

/** Raw JSON-subprotocol client that has received its `connected` message. */
async function rawJsonClient(grant: Grant = {}, protocol = 'json.webpubsub.azure.v1') {
  const { url } = await service.getClientAccessToken(grant);
  const raw = await rawClient(url, protocol);
  const connected = await raw.messages.next();
  return { ...raw, connected };
}

/** Status of a refused WebSocket upgrade. */
function refusedStatus(url: string, protocol = 'json.webpubsub.azure.v1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, [protocol]);
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      socket.terminate();
      reject(new Error('The connection was accepted.'));
    });
    socket.on('error', () => undefined);
  });
}

function bytes(data: unknown): number[] {
  return [...new Uint8Array(data as ArrayBuffer)];
}

describe('REST sends reach real clients', () => {
  it('sendToUser delivers json, text and binary to that user only, in the documented shapes', async () => {
    const alice = await sdkClient({ userId: 'alice' });
    const aliceRaw = await rawJsonClient({ userId: 'alice' });
    const bob = await sdkClient({ userId: 'bob' });
    expect(alice.connected.items[0]).toEqual({ connectionId: alice.connectionId, userId: 'alice' });
    expect(aliceRaw.connected).toEqual({
      type: 'system',
      event: 'connected',
      userId: 'alice',
      connectionId: expect.any(String),
    });

    await service.sendToUser('alice', { hello: 'world' });
    await service.sendToUser('alice', 'plain text', { contentType: 'text/plain' });
    await service.sendToUser('alice', new Uint8Array([1, 2, 3]));

    // Default SDK client = reliable protocol: same envelope plus a sequenceId.
    expect(await alice.server.next()).toEqual({
      kind: 'serverData',
      sequenceId: 1,
      type: 'message',
      from: 'server',
      dataType: 'json',
      data: { hello: 'world' },
    });
    expect(await alice.server.next()).toMatchObject({ sequenceId: 2, dataType: 'text', data: 'plain text' });
    const binary = await alice.server.next();
    expect(binary).toMatchObject({ sequenceId: 3, from: 'server', dataType: 'binary' });
    expect(bytes(binary.data)).toEqual([1, 2, 3]);

    expect(await aliceRaw.messages.next()).toEqual({ type: 'message', from: 'server', dataType: 'json', data: { hello: 'world' } });
    expect(await aliceRaw.messages.next()).toEqual({ type: 'message', from: 'server', dataType: 'text', data: 'plain text' });
    expect(await aliceRaw.messages.next()).toEqual({ type: 'message', from: 'server', dataType: 'binary', data: 'AQID' });

    // The SDK's non-reliable JSON protocol gets the same envelope without sequenceId.
    const aliceJson = await sdkClient({ userId: 'alice' }, { protocol: WebPubSubJsonProtocol() });
    await service.sendToUser('alice', ['third', 'connection']);
    expect(await aliceJson.server.next()).toEqual({
      kind: 'serverData',
      type: 'message',
      from: 'server',
      dataType: 'json',
      data: ['third', 'connection'],
    });

    // Bob's first message is the one meant for him: nothing for Alice leaked to him.
    await service.sendToUser('bob', 'for bob', { contentType: 'text/plain' });
    expect(await bob.server.next()).toMatchObject({ dataType: 'text', data: 'for bob' });
    expect(bob.server.items).toHaveLength(1);
  });

  it('sendToAll reaches everyone; group sends reach members only', async () => {
    const member = await sdkClient({ userId: 'm1', groups: ['news'] });
    const other = await sdkClient({ userId: 'm2' });
    const memberRaw = await rawJsonClient({ userId: 'm3', groups: ['news'] });

    await service.group('news').sendToAll({ headline: 'launch' });
    expect(await member.groups.next()).toEqual({
      kind: 'groupData',
      sequenceId: 1,
      type: 'message',
      from: 'group',
      group: 'news',
      dataType: 'json',
      data: { headline: 'launch' },
    });
    expect(await memberRaw.messages.next()).toEqual({
      type: 'message',
      from: 'group',
      group: 'news',
      dataType: 'json',
      data: { headline: 'launch' },
    });

    await service.sendToAll('everyone', { contentType: 'text/plain' });
    for (const client of [member, other]) {
      expect(await client.server.next()).toMatchObject({ from: 'server', dataType: 'text', data: 'everyone' });
    }
    expect(await memberRaw.messages.next()).toEqual({ type: 'message', from: 'server', dataType: 'text', data: 'everyone' });
    expect(other.groups.items).toEqual([]);
  });

  it('honours excluded connections and OData filters', async () => {
    const a = await rawJsonClient({ userId: 'filter-a', groups: ['f'] });
    const b = await rawJsonClient({ userId: 'filter-b', groups: ['f'] });

    await service.group('f').sendToAll('not for a', { contentType: 'text/plain', excludedConnections: [a.connected['connectionId'] as string] });
    await service.sendToAll('only b', { contentType: 'text/plain', filter: "userId eq 'filter-b'" });
    await service.sendToAll('both', { contentType: 'text/plain', filter: "'f' in groups and startswith(userId, 'filter-')" });

    expect((await a.messages.next())['data']).toBe('both');
    expect((await b.messages.next())['data']).toBe('not for a');
    expect((await b.messages.next())['data']).toBe('only b');
    expect((await b.messages.next())['data']).toBe('both');

    await expect(service.sendToAll('x', { contentType: 'text/plain', filter: 'userId eq' })).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('REST authentication', () => {
  const sendPath = `/api/hubs/${HUB}/:send?api-version=2024-12-01`;
  const key = new TextEncoder().encode(ACCESS_KEY);
  const sign = (claims: { aud: string; exp?: number; nbf?: number }, signingKey = key) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setAudience(claims.aud).setExpirationTime(claims.exp ?? now + 600);
    if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
    return jwt.sign(signingKey);
  };
  const post = (token?: string) =>
    fetch(`${emulator.endpoint}${sendPath}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: 'hi',
    });

  it('accepts a token whose audience is the URL, with or without the query', async () => {
    const url = `${emulator.endpoint}${sendPath}`;
    expect((await post(await sign({ aud: url }))).status).toBe(202);
    expect((await post(await sign({ aud: url.split('?')[0] as string }))).status).toBe(202);
  });

  it('answers 401 for a missing, wrongly signed, expired, not-yet-valid or mis-addressed token', async () => {
    const url = `${emulator.endpoint}${sendPath}`;
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      missing: undefined,
      garbage: 'not-a-jwt',
      wrongKey: await sign({ aud: url }, new TextEncoder().encode('some-other-key-some-other-key-1234')),
      expired: await sign({ aud: url, exp: now - 60 }),
      notYetValid: await sign({ aud: url, nbf: now + 600 }),
      otherPath: await sign({ aud: `${emulator.endpoint}/api/hubs/otherhub/:send` }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const response = await post(token);
      expect({ name, status: response.status }).toEqual({ name, status: 401 });
      expect(await response.json()).toMatchObject({ code: 'Unauthorized', message: expect.any(String) });
    }
  });

  it('makes the SDK throw a 401 RestError when the access key is wrong', async () => {
    const wrong = new WebPubSubServiceClient(`Endpoint=${emulator.endpoint};AccessKey=wrong-key;Version=1.0;`, HUB, {
      allowInsecureConnection: true,
    });
    // RestError comes from @azure/core-rest-pipeline, which is not a direct dependency; match its shape.
    await expect(wrong.sendToAll({ a: 1 })).rejects.toMatchObject({ name: 'RestError', statusCode: 401 });
  });

  it('answers 404 JSON for unknown routes', async () => {
    const url = `${emulator.endpoint}/api/hubs/${HUB}/no/such/route?api-version=2024-12-01`;
    const response = await fetch(url, { headers: { Authorization: `Bearer ${await sign({ aud: url })}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NotFound' });
    const root = await fetch(`${emulator.endpoint}/nothing-here`);
    expect(root.status).toBe(404);
    expect(root.headers.get('content-type')).toContain('application/json');
  });
});

describe('users, groups and connections via REST', () => {
  it('addUser puts the user’s current and future connections in the group; removeUser takes them out', async () => {
    const first = await sdkClient({ userId: 'carol' });
    expect(await service.userExists('carol')).toBe(true);
    expect(await service.userExists('nobody')).toBe(false);
    expect(await service.groupExists('team')).toBe(false);

    await service.group('team').addUser('carol');
    expect(await service.groupExists('team')).toBe(true);
    await service.group('team').sendToAll('hi team', { contentType: 'text/plain' });
    expect(await first.groups.next()).toMatchObject({ from: 'group', group: 'team', dataType: 'text', data: 'hi team' });

    const second = await sdkClient({ userId: 'carol' });
    await service.group('team').sendToAll('still here', { contentType: 'text/plain' });
    expect(await first.groups.next()).toMatchObject({ data: 'still here' });
    expect(await second.groups.next()).toMatchObject({ group: 'team', data: 'still here' });

    await service.group('team').removeUser('carol');
    expect(await service.groupExists('team')).toBe(false);
    await service.group('team').sendToAll('gone', { contentType: 'text/plain' });
    await service.sendToUser('carol', 'marker', { contentType: 'text/plain' });
    expect(await second.server.next()).toMatchObject({ data: 'marker' });
    expect(second.groups.items).toHaveLength(1);

    first.client.stop();
    second.client.stop();
    await waitUntil(async () => !(await service.userExists('carol')));
  });

  it('manages single connections: addConnection, listConnections, connectionExists, permissions, closeConnection', async () => {
    const erin = await sdkClient({ userId: 'erin' });
    expect(await service.connectionExists(erin.connectionId)).toBe(true);
    expect(await service.connectionExists('no-such-connection')).toBe(false);

    await service.group('ops').addConnection(erin.connectionId);
    const members = [];
    for await (const member of await service.group('ops').listConnections()) members.push(member);
    expect(members).toEqual([{ connectionId: erin.connectionId, userId: 'erin' }]);

    expect(await service.hasPermission(erin.connectionId, 'sendToGroup', { targetName: 'ops' })).toBe(false);
    await service.grantPermission(erin.connectionId, 'sendToGroup', { targetName: 'ops' });
    expect(await service.hasPermission(erin.connectionId, 'sendToGroup', { targetName: 'ops' })).toBe(true);
    await erin.client.sendToGroup('ops', { from: 'erin' }, 'json');
    expect(await erin.groups.next()).toMatchObject({ group: 'ops', fromUserId: 'erin', data: { from: 'erin' } });

    await service.closeConnection(erin.connectionId, { reason: 'bye erin' });
    expect((await erin.disconnected.next()).message).toMatchObject({ message: 'bye erin' });
    expect(await service.connectionExists(erin.connectionId)).toBe(false);
  });

  it('closeUserConnections closes every connection of the user with code 1000 and the reason', async () => {
    const sdk = await sdkClient({ userId: 'dave' });
    const raw = await rawJsonClient({ userId: 'dave' });

    await service.closeUserConnections('dave', { reason: 'maintenance' });

    expect(await raw.messages.next()).toEqual({ type: 'system', event: 'disconnected', message: 'maintenance' });
    expect(await raw.closed).toEqual({ code: 1000, reason: 'maintenance' });
    const disconnected = await sdk.disconnected.next();
    expect(disconnected.connectionId).toBe(sdk.connectionId);
    expect(disconnected.message).toMatchObject({ message: 'maintenance' });
    await sdk.stopped.next();
    expect(await service.userExists('dave')).toBe(false);
  });
});

describe('client requests', () => {
  it('joinGroup without a role is acked with success:false / Forbidden', async () => {
    const sdk = await sdkClient({ userId: 'frank' });
    await expect(sdk.client.joinGroup('private')).rejects.toMatchObject({
      name: 'SendMessageError',
      errorDetail: { name: 'Forbidden', message: expect.stringContaining('private') },
    });
    expect(await service.groupExists('private')).toBe(false);

    const raw = await rawJsonClient({ userId: 'frank' });
    raw.send({ type: 'joinGroup', group: 'private', ackId: 1 });
    expect(await raw.messages.next()).toEqual({
      type: 'ack',
      ackId: 1,
      success: false,
      error: { name: 'Forbidden', message: expect.any(String) },
    });
  });

  it('with the roles, clients join, receive REST and client group messages, honour noEcho, and are limited to scoped groups', async () => {
    const gina = await sdkClient({
      userId: 'gina',
      roles: ['webpubsub.joinLeaveGroup.room1', 'webpubsub.sendToGroup.room1'],
    });
    const hank = await sdkClient({ userId: 'hank', roles: ['webpubsub.joinLeaveGroup'] });

    expect(await gina.client.joinGroup('room1')).toMatchObject({ isDuplicated: false });
    await hank.client.joinGroup('room1');
    expect(await service.groupExists('room1')).toBe(true);

    await service.group('room1').sendToAll({ x: 1 });
    expect(await gina.groups.next()).toMatchObject({ group: 'room1', data: { x: 1 } });
    expect(await hank.groups.next()).toMatchObject({ group: 'room1', data: { x: 1 } });

    await gina.client.sendToGroup('room1', 'quiet', 'text', { noEcho: true });
    expect(await hank.groups.next()).toEqual({
      kind: 'groupData',
      sequenceId: 2,
      type: 'message',
      from: 'group',
      group: 'room1',
      fromUserId: 'gina',
      dataType: 'text',
      data: 'quiet',
    });
    await gina.client.sendToGroup('room1', 'loud', 'text');
    expect(await gina.groups.next()).toMatchObject({ data: 'loud', fromUserId: 'gina' }); // not 'quiet'
    expect(await hank.groups.next()).toMatchObject({ data: 'loud' });

    await expect(hank.client.sendToGroup('room1', 'nope', 'text')).rejects.toMatchObject({ errorDetail: { name: 'Forbidden' } });
    await expect(gina.client.joinGroup('room2')).rejects.toMatchObject({ errorDetail: { name: 'Forbidden' } });

    await hank.client.leaveGroup('room1');
    await service.group('room1').sendToAll('after leave', { contentType: 'text/plain' });
    expect(await gina.groups.next()).toMatchObject({ data: 'after leave' });
    await service.sendToUser('hank', 'marker', { contentType: 'text/plain' });
    expect(await hank.server.next()).toMatchObject({ data: 'marker' });
    expect(hank.groups.items.map((m) => m.data)).toEqual([{ x: 1 }, 'quiet', 'loud']);
  });

  it('acks events with success:false (no upstream), answers ping with pong, and declines malformed frames with 1008', async () => {
    const raw = await rawJsonClient({ userId: 'ivy' });
    raw.send({ type: 'event', event: 'hello', ackId: 7, dataType: 'text', data: 'x' });
    expect(await raw.messages.next()).toEqual({
      type: 'ack',
      ackId: 7,
      success: false,
      error: { name: 'InternalServerError', message: expect.stringContaining('no event handler') },
    });
    raw.send({ type: 'ping' });
    expect(await raw.messages.next()).toEqual({ type: 'pong' });
    raw.send({ type: 'sequenceAck', sequenceId: 1 });
    raw.send({ type: 'somethingNew' });
    await service.sendToUser('ivy', 'still connected', { contentType: 'text/plain' });
    expect(await raw.messages.next()).toMatchObject({ data: 'still connected' });

    raw.socket.send('{not json');
    expect(await raw.messages.next()).toMatchObject({ type: 'system', event: 'disconnected' });
    expect((await raw.closed).code).toBe(1008);
  });

  it('refuses connections with a bad, foreign or missing access token', async () => {
    const { baseUrl, token } = await service.getClientAccessToken({ userId: 'mallory' });
    const tampered = `${token.slice(0, -4)}AAAA`;
    expect(await refusedStatus(`${baseUrl}?access_token=${tampered}`)).toBe(401);
    expect(await refusedStatus(baseUrl)).toBe(401);
    const otherHub = await new WebPubSubServiceClient(emulator.connectionString, 'otherhub').getClientAccessToken();
    expect(await refusedStatus(`${baseUrl}?access_token=${otherHub.token}`)).toBe(401);

    const client = new WebPubSubClient(`${baseUrl}?access_token=${tampered}`, { autoReconnect: false });
    cleanups.push(() => client.stop());
    await expect(client.start()).rejects.toThrow(/401/);

    // The token may also come in an Authorization header instead of the query string.
    const viaHeader = new WebSocket(baseUrl, ['json.webpubsub.azure.v1'], { headers: { Authorization: `Bearer ${token}` } });
    cleanups.push(() => viaHeader.terminate());
    const [greeting] = (await once(viaHeader, 'message')) as [Buffer];
    expect(JSON.parse(greeting.toString())).toMatchObject({ event: 'connected', userId: 'mallory' });
  });

  it('issues working client tokens from the REST :generateToken operation', async () => {
    const url = `${emulator.endpoint}/api/hubs/${HUB}/:generateToken?api-version=2024-12-01&userId=zed&role=webpubsub.sendToGroup&group=g1&group=g2`;
    const auth = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(url)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(ACCESS_KEY));
    const response = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${auth}` } });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };

    const zed = await rawClient(`${emulator.endpoint.replace('http', 'ws')}/client/hubs/${HUB}?access_token=${token}`, 'json.webpubsub.azure.v1');
    expect(await zed.messages.next()).toMatchObject({ event: 'connected', userId: 'zed' });
    expect(await service.groupExists('g2')).toBe(true);
    zed.send({ type: 'sendToGroup', group: 'g1', ackId: 1, dataType: 'text', data: 'from zed' });
    expect(await zed.messages.next()).toEqual({ type: 'message', from: 'group', group: 'g1', fromUserId: 'zed', dataType: 'text', data: 'from zed' });
    expect(await zed.messages.next()).toEqual({ type: 'ack', ackId: 1, success: true });
    // Re-sending an ackId that already succeeded is reported as a duplicate, not re-published.
    zed.send({ type: 'sendToGroup', group: 'g1', ackId: 1, dataType: 'text', data: 'from zed' });
    expect(await zed.messages.next()).toMatchObject({ type: 'ack', ackId: 1, success: false, error: { name: 'Duplicate' } });
  });

  it('never writes tokens to the log', async () => {
    const lines: string[] = [];
    const logged = await startWebPubSubEmulator({ port: 0, log: (line) => lines.push(line) });
    cleanups.push(() => logged.close());
    const loggedService = new WebPubSubServiceClient(logged.connectionString, HUB, { allowInsecureConnection: true });
    const { url, token } = await loggedService.getClientAccessToken({ userId: 'logme' });
    const raw = await rawClient(url, 'json.reliable.webpubsub.azure.v1');
    const connected = await raw.messages.next();
    await loggedService.sendToUser('logme', 'x', { contentType: 'text/plain' });
    await refusedStatus(`${url.split('?')[0]}?access_token=${token.slice(0, -2)}xx`);
    expect(lines.some((l) => l.includes('POST /api/hubs/flowquest/users/logme/:send -> 202'))).toBe(true);
    expect(lines.some((l) => l.includes('401'))).toBe(true);
    const secrets = [token.slice(0, 40), String(connected['reconnectionToken']), ACCESS_KEY, 'eyJ'];
    for (const secret of secrets) expect(lines.filter((l) => l.includes(secret))).toEqual([]);
  });
});

describe('reliable sessions and outages', () => {
  it('recovers a dropped reliable session and re-sends only unacknowledged messages', async () => {
    const { url, baseUrl } = await service.getClientAccessToken({ userId: 'june' });
    const first = await rawClient(url, 'json.reliable.webpubsub.azure.v1');
    const connected = await first.messages.next();
    expect(connected).toEqual({
      type: 'system',
      event: 'connected',
      userId: 'june',
      connectionId: expect.any(String),
      reconnectionToken: expect.any(String),
    });

    await service.sendToUser('june', 'one', { contentType: 'text/plain' });
    expect(await first.messages.next()).toEqual({ sequenceId: 1, type: 'message', from: 'server', dataType: 'text', data: 'one' });
    first.send({ type: 'sequenceAck', sequenceId: 1 });
    await service.sendToUser('june', 'two', { contentType: 'text/plain' });
    expect(await first.messages.next()).toMatchObject({ sequenceId: 2, data: 'two' });

    first.socket.terminate(); // network drop: no close frame
    await first.closed;
    await service.sendToUser('june', 'three', { contentType: 'text/plain' });
    expect(await service.userExists('june')).toBe(true); // the session waits for recovery

    const connectionId = connected['connectionId'] as string;
    const wrong = await rawClient(`${baseUrl}?awps_connection_id=${connectionId}&awps_reconnection_token=wrong`, 'json.reliable.webpubsub.azure.v1');
    expect((await wrong.closed).code).toBe(1008);

    const recovery = `${baseUrl}?awps_connection_id=${connectionId}&awps_reconnection_token=${String(connected['reconnectionToken'])}`;
    const second = await rawClient(recovery, 'json.reliable.webpubsub.azure.v1');
    expect(await second.messages.next()).toMatchObject({ type: 'system', event: 'connected', connectionId });
    expect(await second.messages.next()).toMatchObject({ sequenceId: 2, data: 'two' });
    expect(await second.messages.next()).toMatchObject({ sequenceId: 3, data: 'three' });
  });

  it('serves localhost on both 127.0.0.1 and ::1', async () => {
    const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));
    const hosts = hasIpv6Loopback ? ['127.0.0.1', '[::1]'] : ['127.0.0.1'];
    for (const host of hosts) {
      const response = await fetch(`http://${host}:${emulator.port}/api/health`, { method: 'HEAD' });
      expect({ host, status: response.status }).toEqual({ host, status: 200 });
    }
  });

  it('after close() and a restart on the same port, an autoReconnect client reconnects and gets new messages', async () => {
    const kate = await sdkClient({ userId: 'kate', groups: ['alerts'] }, { autoReconnect: true });
    await service.sendToUser('kate', 'before', { contentType: 'text/plain' });
    expect(await kate.server.next()).toMatchObject({ data: 'before' });

    const port = emulator.port;
    await emulator.close();
    // Outage: nothing listens (plain fetch: the SDK would spend seconds retrying).
    await expect(fetch(`${emulator.endpoint}/api/health`)).rejects.toThrow();
    // Stay down long enough for the client's recovery attempts to be refused at least once.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    emulator = await startWebPubSubEmulator({ port, log: process.env['WPS_DEBUG'] ? console.log : undefined });
    expect(emulator.port).toBe(port);

    const reconnected = await kate.connected.next(10_000);
    expect(reconnected.connectionId).not.toBe(kate.connectionId);
    expect(reconnected.userId).toBe('kate');
    expect(kate.disconnected.items.map((d) => d.connectionId)).toEqual([kate.connectionId]);

    await service.sendToUser('kate', 'after', { contentType: 'text/plain' });
    expect(await kate.server.next()).toMatchObject({ from: 'server', dataType: 'text', data: 'after' });
    // The fresh token's groups apply to the new connection.
    await service.group('alerts').sendToAll('alert', { contentType: 'text/plain' });
    expect(await kate.groups.next()).toMatchObject({ group: 'alerts', data: 'alert' });
  });
});
