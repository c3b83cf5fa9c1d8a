/**
 * One client connection (a "session" in the reliable-protocol docs) and its socket.
 *
 * Three kinds of client exist, chosen by WebSocket subprotocol
 * (https://learn.microsoft.com/azure/azure-web-pubsub/concept-client-protocols):
 *   - 'simple'    no subprotocol: receives bare payloads, its frames would go upstream;
 *   - 'json'      json.webpubsub.azure.v1: JSON envelopes, join/leave/publish requests;
 *   - 'reliable'  json.reliable.webpubsub.azure.v1: as 'json' plus `sequenceId` on every data
 *                 message, `sequenceAck` from the client, and session recovery with
 *                 `awps_connection_id` + `awps_reconnection_token`
 *                 (https://learn.microsoft.com/azure/azure-web-pubsub/howto-develop-reliable-clients).
 * @azure/web-pubsub-client 1.0.4 asks for the reliable protocol only (webPubSubClient.js
 * `_buildDefaultOptions`), so the reliable kind is what the SDK's default client gets.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import { dataEnvelope, rawFrame, type MessageOrigin, type Payload } from './messages.js';

export const JSON_SUBPROTOCOL = 'json.webpubsub.azure.v1';
export const RELIABLE_JSON_SUBPROTOCOL = 'json.reliable.webpubsub.azure.v1';

export type ClientKind = 'simple' | 'json' | 'reliable';

/**
 * Unacknowledged messages kept per reliable session. The docs say the service holds
 * un-acked messages "with limit" and drops the session beyond it; the SDK acks every
 * second, so this is only reached by clients that never send sequenceAck.
 */
export const MAX_UNACKED_MESSAGES = 10_000;
/** How many successful ackIds are remembered for `Duplicate` detection. */
const MAX_REMEMBERED_ACK_IDS = 10_000;
/** WebSocket close reasons are limited to 123 bytes (RFC 6455 §5.5: 125-byte control payload). */
const MAX_CLOSE_REASON_BYTES = 123;

function newId(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function truncateCloseReason(reason: string): string {
  let result = reason;
  while (Buffer.byteLength(result, 'utf8') > MAX_CLOSE_REASON_BYTES) result = result.slice(0, -1);
  return result;
}

export class ClientConnection {
  readonly connectionId = newId(18);
  /** Only reliable sessions can be recovered, so only they get a token. */
  readonly reconnectionToken: string | null;
  /** Mutable: REST grant/revokePermission edit it. */
  readonly roles: Set<string>;
  readonly groups = new Set<string>();

  private socket: WebSocket | null = null;
  private nextSequenceId = 1;
  private readonly unacked: { sequenceId: number; frame: string }[] = [];
  private readonly processedAckIds = new Set<number>();
  private recoveryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly hub: string,
    readonly userId: string | null,
    readonly kind: ClientKind,
    roles: Iterable<string>,
  ) {
    this.roles = new Set(roles);
    this.reconnectionToken = kind === 'reliable' ? newId(32) : null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A reliable session whose socket dropped and that is waiting for the client to recover it. */
  get isRecovering(): boolean {
    return !this.closed && this.socket === null;
  }

  /** Bind a (new) socket. A socket still attached is dropped without a close handshake. */
  attach(socket: WebSocket): void {
    const previous = this.socket;
    this.socket = socket;
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    this.recoveryTimer = undefined;
    if (previous && previous !== socket) previous.terminate();
  }

  /** Unbind `socket` if it is the current one; false when a newer socket already took over. */
  detach(socket: WebSocket): boolean {
    if (this.socket !== socket) return false;
    this.socket = null;
    return true;
  }

  /** Keep the session for `windowMs`, then give up on it. */
  awaitRecovery(windowMs: number, onExpired: () => void): void {
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    this.recoveryTimer = setTimeout(onExpired, windowMs);
    this.recoveryTimer.unref();
  }

  matchesReconnectionToken(token: string): boolean {
    if (!this.reconnectionToken) return false;
    const expected = Buffer.from(this.reconnectionToken);
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** Non-sequenced frames: system messages, acks, pongs. Dropped when no socket is open. */
  sendControl(message: Record<string, unknown>): void {
    if (this.kind === 'simple') return;
    this.write(JSON.stringify(message), false);
  }

  /**
   * Deliver a data message. Returns false when a reliable session's buffer of
   * unacknowledged messages is full (the caller then ends the session, as the docs say).
   */
  deliver(origin: MessageOrigin, payload: Payload): boolean {
    if (this.closed) return true;
    if (this.kind === 'simple') {
      const frame = rawFrame(payload);
      this.write(frame.data, frame.binary);
      return true;
    }
    const envelope = dataEnvelope(origin, payload);
    if (this.kind === 'json') {
      this.write(JSON.stringify(envelope), false);
      return true;
    }
    if (this.unacked.length >= MAX_UNACKED_MESSAGES) return false;
    const sequenceId = this.nextSequenceId++;
    const frame = JSON.stringify({ sequenceId, ...envelope });
    // Buffered until the client acks it, so it can be re-sent after recovery.
    this.unacked.push({ sequenceId, frame });
    this.write(frame, false);
    return true;
  }

  /** `sequenceAck`: everything up to and including `sequenceId` has been received. */
  acknowledge(sequenceId: number): void {
    let drop = 0;
    while (drop < this.unacked.length && (this.unacked[drop] as { sequenceId: number }).sequenceId <= sequenceId) drop++;
    if (drop > 0) this.unacked.splice(0, drop);
  }

  /** After recovery: re-send what the client has not acknowledged, in order. */
  replayUnacked(): void {
    for (const { frame } of this.unacked) this.write(frame, false);
  }

  isDuplicateAck(ackId: number): boolean {
    return this.processedAckIds.has(ackId);
  }

  rememberAck(ackId: number): void {
    this.processedAckIds.add(ackId);
    if (this.processedAckIds.size > MAX_REMEMBERED_ACK_IDS) {
      const oldest = this.processedAckIds.values().next().value as number;
      this.processedAckIds.delete(oldest);
    }
  }

  /** Mark the session ended (no recovery), and stop any pending recovery timer. */
  markClosed(): void {
    this.closed = true;
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    this.recoveryTimer = undefined;
  }

  /** Close handshake with a code and reason (server-initiated close). */
  closeSocket(code: number, reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
      socket.close(code, truncateCloseReason(reason));
    }
  }

  /** Drop the TCP connection without a handshake (emulator shutdown = simulated outage). */
  terminate(): void {
    this.socket?.terminate();
  }

  private write(data: string | Buffer, binary: boolean): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== socket.OPEN) return;
    socket.send(data, { binary });
  }
}
