/**
 * The client endpoint: `GET /client/hubs/{hub}` WebSocket upgrades and the JSON
 * subprotocol requests that arrive on them.
 *
 * References:
 *   - connect + auth: https://learn.microsoft.com/azure/azure-web-pubsub/howto-websocket-connect
 *   - json.webpubsub.azure.v1: https://learn.microsoft.com/azure/azure-web-pubsub/reference-json-webpubsub-subprotocol
 *   - json.reliable.webpubsub.azure.v1: https://learn.microsoft.com/azure/azure-web-pubsub/reference-json-reliable-webpubsub-subprotocol
 *   - recovery: https://learn.microsoft.com/azure/azure-web-pubsub/howto-develop-reliable-clients
 *
 * Choices where the emulator has nothing upstream to talk to:
 *   - `event` requests: there is no event handler, so the event is dropped; when it carries
 *     an ackId the ack says `success:false` (`InternalServerError`, "no event handler") so a
 *     caller awaiting it learns the event went nowhere instead of hanging.
 *   - `invoke` requests (newer SDKs): answered with an `invokeResponse` failure, same reason.
 *   - frames from simple (no-subprotocol) clients would be `message` events upstream; dropped.
 * Frames that are not JSON, or requests missing required fields, make the service decline
 * the client ("Service declines the client if the message does not match the described
 * format"): a `disconnected` message then close code 1008. Unknown `type`s are ignored so a
 * newer client does not lose its connection.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AuthError, bearerToken, verifyClientToken, type AccessKey } from './auth.js';
import {
  ClientConnection,
  JSON_SUBPROTOCOL,
  RELIABLE_JSON_SUBPROTOCOL,
  type ClientKind,
} from './connection.js';
import { isValidGroupName, isValidHubName, type Hub, type HubRegistry, type Log } from './hubState.js';
import { PayloadError, payloadFromClient } from './messages.js';
import { hasPermission, type Permission } from './permissions.js';

/** The service's limit for a single client message is 1 MB. */
const MAX_CLIENT_FRAME_BYTES = 1024 * 1024;

export interface ClientEndpointOptions {
  readonly registry: HubRegistry;
  readonly key: AccessKey;
  readonly log: Log;
}

export interface ClientEndpoint {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Destroy sockets still in the middle of an upgrade (emulator shutdown). */
  close(): void;
}

class ProtocolViolation extends Error {}

/** Reply to a refused upgrade with a plain HTTP response, then drop the socket. */
function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  if (socket.writable) {
    const body = `${message}\n`;
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function offeredSubprotocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (!header) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/**
 * Pick the subprotocol. Reliable JSON wins when offered (it is what the SDK asks for);
 * protobuf protocols are not implemented, so a client offering only those is refused
 * with 400 rather than silently getting no subprotocol.
 */
function chooseKind(offered: string[]): ClientKind | null {
  if (offered.length === 0) return 'simple';
  if (offered.includes(RELIABLE_JSON_SUBPROTOCOL)) return 'reliable';
  if (offered.includes(JSON_SUBPROTOCOL)) return 'json';
  return null;
}

function requestUrl(request: IncomingMessage): URL {
  const host = request.headers.host ?? 'localhost';
  return new URL(request.url ?? '/', `http://${host}`);
}

function frameText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function requireGroup(message: Record<string, unknown>): string {
  const group = message['group'];
  if (typeof group !== 'string' || !isValidGroupName(group)) {
    throw new ProtocolViolation(`'${String(message['type'])}' needs a 'group' of 1-1024 characters.`);
  }
  return group;
}

function optionalAckId(message: Record<string, unknown>): number | undefined {
  const ackId = message['ackId'];
  if (ackId === undefined || ackId === null) return undefined;
  if (typeof ackId !== 'number' || !Number.isSafeInteger(ackId) || ackId < 0) {
    throw new ProtocolViolation("'ackId' must be a non-negative integer.");
  }
  return ackId;
}

type AckError = { name: 'Forbidden' | 'InternalServerError'; message: string };

export function createClientEndpoint(options: ClientEndpointOptions): ClientEndpoint {
  const { registry, key, log } = options;
  const pending = new Set<Duplex>();
  let closing = false;

  // noServer: the emulator owns the HTTP servers (one per loopback address) and hands
  // upgrades here. handleProtocols only runs after chooseKind accepted the offer.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    handleProtocols: (protocols) =>
      protocols.has(RELIABLE_JSON_SUBPROTOCOL)
        ? RELIABLE_JSON_SUBPROTOCOL
        : protocols.has(JSON_SUBPROTOCOL)
          ? JSON_SUBPROTOCOL
          : false,
  });

  function sendAck(connection: ClientConnection, ackId: number, error?: AckError | { name: 'Duplicate'; message: string }): void {
    connection.sendControl(error ? { type: 'ack', ackId, success: false, error } : { type: 'ack', ackId, success: true });
  }

  /**
   * Run a request that may carry an ackId. A repeated ackId that already succeeded gets
   * `Duplicate` (reliable-client docs, "Publisher"), so a client re-sending after a
   * reconnect does not publish twice; failed attempts are not remembered and may be retried.
   */
  function acked(connection: ClientConnection, ackId: number | undefined, action: () => AckError | null): void {
    if (ackId !== undefined && connection.isDuplicateAck(ackId)) {
      sendAck(connection, ackId, { name: 'Duplicate', message: `Message with ack-id: ${ackId} has been processed` });
      return;
    }
    const error = action();
    if (ackId === undefined) return;
    if (!error) connection.rememberAck(ackId);
    sendAck(connection, ackId, error ?? undefined);
  }

  function forbidden(connection: ClientConnection, permission: Permission, group: string): AckError | null {
    if (hasPermission(connection.roles, permission, group)) return null;
    const action = permission === 'joinLeaveGroup' ? 'join or leave' : 'send to';
    return {
      name: 'Forbidden',
      message: `The connection has no permission to ${action} group '${group}' (needs role webpubsub.${permission} or webpubsub.${permission}.${group}).`,
    };
  }

  function handleRequest(hub: Hub, connection: ClientConnection, message: Record<string, unknown>): void {
    const type = message['type'];
    switch (type) {
      case 'joinGroup': {
        const group = requireGroup(message);
        acked(connection, optionalAckId(message), () => {
          const denied = forbidden(connection, 'joinLeaveGroup', group);
          if (!denied) hub.join(connection, group);
          return denied;
        });
        return;
      }
      case 'leaveGroup': {
        const group = requireGroup(message);
        acked(connection, optionalAckId(message), () => {
          const denied = forbidden(connection, 'joinLeaveGroup', group);
          if (!denied) hub.leave(connection, group);
          return denied;
        });
        return;
      }
      case 'sendToGroup': {
        const group = requireGroup(message);
        const ackId = optionalAckId(message);
        let payload;
        try {
          payload = payloadFromClient(message['dataType'], message['data']);
        } catch (error) {
          throw new ProtocolViolation((error as PayloadError).message);
        }
        const noEcho = message['noEcho'] === true;
        acked(connection, ackId, () => {
          const denied = forbidden(connection, 'sendToGroup', group);
          if (denied) return denied;
          const targets = hub.membersOf(group).filter((c) => !(noEcho && c === connection));
          hub.send(targets, { from: 'group', group, fromUserId: connection.userId }, payload);
          return null;
        });
        return;
      }
      case 'event': {
        const ackId = optionalAckId(message);
        const event = typeof message['event'] === 'string' ? message['event'] : '(unnamed)';
        log(`[ws] ${hub.name}: event '${event}' from ${connection.connectionId} dropped (no event handler in the emulator)`);
        if (ackId !== undefined) {
          sendAck(connection, ackId, {
            name: 'InternalServerError',
            message: `The emulator has no event handler; event '${event}' was not delivered.`,
          });
        }
        return;
      }
      case 'invoke':
        connection.sendControl({
          type: 'invokeResponse',
          invocationId: message['invocationId'],
          success: false,
          error: { name: 'InternalServerError', message: 'The emulator has no event handler to invoke.' },
        });
        return;
      case 'sequenceAck': {
        // The docs show sequenceId as a number (the SDK sends one); accept numeric strings too.
        const sequenceId = Number(message['sequenceId']);
        if (Number.isFinite(sequenceId)) connection.acknowledge(sequenceId);
        return;
      }
      case 'ping':
        // Keep-alive from the client SDK (keepAliveIntervalInMs); any reply resets its timeout.
        connection.sendControl({ type: 'pong' });
        return;
      case 'cancelInvocation':
        return;
      default:
        log(`[ws] ${hub.name}: ignored message type '${String(type)}' from ${connection.connectionId}`);
    }
  }

  function handleFrame(hub: Hub, connection: ClientConnection, data: RawData): void {
    if (connection.isClosed) return;
    if (connection.kind === 'simple') {
      log(`[ws] ${hub.name}: message from simple client ${connection.connectionId} dropped (no event handler)`);
      return;
    }
    try {
      // Text frames carry JSON; binary frames carry UTF-8 encoded JSON (request reference).
      let message: unknown;
      try {
        message = JSON.parse(frameText(data));
      } catch {
        throw new ProtocolViolation('The message is not valid JSON.');
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message)) {
        throw new ProtocolViolation('The message must be a JSON object.');
      }
      handleRequest(hub, connection, message as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof ProtocolViolation)) throw error;
      hub.close(connection, `Invalid message: ${error.message}`, 1008);
    }
  }

  function wire(hub: Hub, connection: ClientConnection, socket: WebSocket): void {
    socket.on('message', (data) => handleFrame(hub, connection, data));
    socket.on('close', (code) => hub.socketClosed(connection, socket, code));
    // 'error' is always followed by 'close'; listening keeps it from being an unhandled error.
    socket.on('error', (error) => log(`[ws] ${hub.name}: socket error on ${connection.connectionId}: ${error.message}`));
  }

  function connectedMessage(connection: ClientConnection): Record<string, unknown> {
    const message: Record<string, unknown> = { type: 'system', event: 'connected' };
    if (connection.userId !== null) message['userId'] = connection.userId;
    message['connectionId'] = connection.connectionId;
    if (connection.reconnectionToken) message['reconnectionToken'] = connection.reconnectionToken;
    return message;
  }

  /** New session: register it (so REST sees it as soon as the client's `open` fires), then greet. */
  function accept(hub: Hub, socket: WebSocket, kind: ClientKind, claims: Awaited<ReturnType<typeof verifyClientToken>>): void {
    const connection = new ClientConnection(hub.name, claims.userId, kind, claims.roles);
    connection.attach(socket);
    hub.add(connection, claims.groups);
    wire(hub, connection, socket);
    connection.sendControl(connectedMessage(connection));
    log(
      `[ws] ${hub.name}: connected ${connection.connectionId} user=${claims.userId ?? '(anonymous)'} protocol=${kind}` +
        (claims.groups.length > 0 ? ` groups=${claims.groups.join(',')}` : ''),
    );
  }

  /**
   * Recovery of a reliable session (`awps_connection_id` + `awps_reconnection_token`; no
   * access token needed). Success: `connected` again with the same connectionId, then every
   * unacknowledged message is re-sent. Failure (unknown/ended session, wrong token): close
   * with 1008, which tells the client "the connectionId has been removed from the service"
   * so it stops recovering and starts a new connection. No `disconnected` message is sent
   * here, so the SDK keeps reporting the reason the session originally ended with.
   */
  function recover(hub: Hub, socket: WebSocket, kind: ClientKind, connectionId: string, token: string): void {
    const connection = hub.connection(connectionId);
    if (!connection || connection.isClosed || kind !== 'reliable' || !connection.matchesReconnectionToken(token)) {
      socket.close(1008, 'The connection cannot be recovered; start a new connection.');
      log(`[ws] ${hub.name}: recovery of ${connectionId} refused`);
      return;
    }
    connection.attach(socket);
    wire(hub, connection, socket);
    connection.sendControl(connectedMessage(connection));
    connection.replayUnacked();
    log(`[ws] ${hub.name}: recovered ${connection.connectionId}`);
  }

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = requestUrl(request);
    const match = /^\/client\/hubs\/([^/]+)\/?$/.exec(url.pathname);
    if (!match) {
      refuseUpgrade(socket, 404, 'Not Found', 'Only /client/hubs/{hub} accepts WebSocket connections.');
      return;
    }
    let hubName: string;
    try {
      hubName = decodeURIComponent(match[1] as string);
    } catch {
      hubName = '';
    }
    if (!isValidHubName(hubName)) {
      refuseUpgrade(socket, 400, 'Bad Request', 'Invalid hub name.');
      return;
    }
    const kind = chooseKind(offeredSubprotocols(request));
    if (!kind) {
      refuseUpgrade(
        socket,
        400,
        'Bad Request',
        `Unsupported subprotocol; the emulator supports ${RELIABLE_JSON_SUBPROTOCOL}, ${JSON_SUBPROTOCOL} or none.`,
      );
      return;
    }
    const hub = registry.get(hubName);

    const recoveryId = url.searchParams.get('awps_connection_id');
    const recoveryToken = url.searchParams.get('awps_reconnection_token');
    if (recoveryId && recoveryToken) {
      wss.handleUpgrade(request, socket, head, (ws) => recover(hub, ws, kind, recoveryId, recoveryToken));
      return;
    }

    const token = url.searchParams.get('access_token') ?? bearerToken(request.headers.authorization);
    let claims;
    try {
      claims = await verifyClientToken(token, key, url);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      log(`[ws] ${hubName}: connection refused (401): ${error.message}`);
      refuseUpgrade(socket, 401, 'Unauthorized', error.message);
      return;
    }
    if (closing || socket.destroyed) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => accept(hub, ws, kind, claims));
  }

  return {
    handleUpgrade(request, socket, head) {
      if (closing) {
        socket.destroy();
        return;
      }
      pending.add(socket);
      // A client may vanish while its token is being checked; never let that throw.
      const onError = () => socket.destroy();
      socket.on('error', onError);
      upgrade(request, socket, head)
        .catch((error: unknown) => {
          log(`[ws] upgrade failed: ${(error as Error).message}`);
          socket.destroy();
        })
        .finally(() => {
          pending.delete(socket);
          socket.off('error', onError);
        });
    },
    close() {
      closing = true;
      for (const socket of pending) socket.destroy();
      pending.clear();
      wss.close();
    },
  };
}
