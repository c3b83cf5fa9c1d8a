/**
 * In-memory state of every hub: connections, users, groups, and who is in which group.
 *
 * Two kinds of group membership exist in the service, and both are modelled:
 *   - connection membership: a connection is in a group (token `webpubsub.group` claim,
 *     client joinGroup, REST add-connection-to-group). It ends when the connection ends.
 *   - user membership: REST add-user-to-group. It applies to all of the user's current
 *     connections and to connections the user opens later, until removed
 *     (the service keeps user-group relations; see "Add a user to the target group" in
 *     https://learn.microsoft.com/rest/api/webpubsub/dataplane/web-pub-sub).
 * A group "exists" while it has at least one connection (groupExists: "Check if there are
 * any client connections inside the given group"); a user exists while it has at least
 * one connection. Nothing survives an emulator restart, just like a service outage that
 * loses sessions.
 */
import type { WebSocket } from 'ws';
import { ClientConnection } from './connection.js';
import type { MessageOrigin, Payload } from './messages.js';

/**
 * How long a dropped reliable session waits for the client to recover it. The docs tell
 * clients to keep retrying recovery for up to a minute.
 */
export const RECOVERY_WINDOW_MS = 60_000;

export type Log = (line: string) => void;

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

export class Hub {
  private readonly connections = new Map<string, ClientConnection>();
  private readonly groupMembers = new Map<string, Set<ClientConnection>>();
  private readonly userConnections = new Map<string, Set<ClientConnection>>();
  private readonly userGroups = new Map<string, Set<string>>();

  constructor(
    readonly name: string,
    private readonly log: Log,
  ) {}

  /** Register a new connection and put it in its token groups and its user's groups. */
  add(connection: ClientConnection, initialGroups: Iterable<string>): void {
    this.connections.set(connection.connectionId, connection);
    if (connection.userId !== null) addTo(this.userConnections, connection.userId, connection);
    for (const group of initialGroups) this.join(connection, group);
    if (connection.userId !== null) {
      for (const group of this.userGroups.get(connection.userId) ?? []) this.join(connection, group);
    }
  }

  /** Forget a connection entirely (idempotent). */
  remove(connection: ClientConnection): void {
    connection.markClosed();
    if (this.connections.get(connection.connectionId) !== connection) return;
    this.connections.delete(connection.connectionId);
    if (connection.userId !== null) removeFrom(this.userConnections, connection.userId, connection);
    for (const group of [...connection.groups]) this.leave(connection, group);
    this.log(`[ws] ${this.name}: connection ${connection.connectionId} removed`);
  }

  connection(connectionId: string): ClientConnection | undefined {
    return this.connections.get(connectionId);
  }

  all(): ClientConnection[] {
    return [...this.connections.values()];
  }

  connectionsOfUser(userId: string): ClientConnection[] {
    return [...(this.userConnections.get(userId) ?? [])];
  }

  membersOf(group: string): ClientConnection[] {
    return [...(this.groupMembers.get(group) ?? [])];
  }

  join(connection: ClientConnection, group: string): void {
    connection.groups.add(group);
    addTo(this.groupMembers, group, connection);
  }

  leave(connection: ClientConnection, group: string): void {
    connection.groups.delete(group);
    removeFrom(this.groupMembers, group, connection);
  }

  addUserToGroup(userId: string, group: string): void {
    addTo(this.userGroups, userId, group);
    for (const connection of this.connectionsOfUser(userId)) this.join(connection, group);
  }

  removeUserFromGroup(userId: string, group: string): void {
    removeFrom(this.userGroups, userId, group);
    for (const connection of this.connectionsOfUser(userId)) this.leave(connection, group);
  }

  removeUserFromAllGroups(userId: string): void {
    this.userGroups.delete(userId);
    for (const connection of this.connectionsOfUser(userId)) {
      for (const group of [...connection.groups]) this.leave(connection, group);
    }
  }

  userExists(userId: string): boolean {
    return (this.userConnections.get(userId)?.size ?? 0) > 0;
  }

  groupExists(group: string): boolean {
    return (this.groupMembers.get(group)?.size ?? 0) > 0;
  }

  /** Deliver to each target; a reliable session whose buffer overflows is ended. */
  send(targets: Iterable<ClientConnection>, origin: MessageOrigin, payload: Payload): number {
    let count = 0;
    for (const target of targets) {
      if (target.deliver(origin, payload)) {
        count++;
      } else {
        this.close(target, 'Too many unacknowledged messages; send sequenceAck.', 1008);
      }
    }
    return count;
  }

  /**
   * Server-initiated close (REST close APIs, protocol violations): tell the client why with
   * a `disconnected` system message (subprotocol reference, "Disconnected"), then close the
   * socket with `code` (1000 by default) and the reason, and end the session so the client
   * cannot recover it.
   */
  close(connection: ClientConnection, reason: string, code = 1000): void {
    if (connection.isClosed) return;
    connection.sendControl({ type: 'system', event: 'disconnected', message: reason });
    connection.closeSocket(code, reason);
    this.remove(connection);
    this.log(`[ws] ${this.name}: closed ${connection.connectionId} (${code} ${reason})`);
  }

  /**
   * The socket went away. A reliable session whose socket dropped abnormally (1006: no
   * close frame, i.e. a network failure) is kept for recovery; anything else (the client
   * said goodbye, or the protocol has no recovery) ends the session.
   */
  socketClosed(connection: ClientConnection, socket: WebSocket, code: number): void {
    if (!connection.detach(socket) || connection.isClosed) return;
    if (connection.kind === 'reliable' && code === 1006) {
      this.log(`[ws] ${this.name}: ${connection.connectionId} dropped; waiting for recovery`);
      connection.awaitRecovery(RECOVERY_WINDOW_MS, () => this.remove(connection));
      return;
    }
    this.remove(connection);
  }

  /** Emulator shutdown: drop every socket without a handshake, like an outage. */
  terminateAll(): void {
    for (const connection of this.connections.values()) {
      connection.markClosed();
      connection.terminate();
    }
    this.connections.clear();
    this.groupMembers.clear();
    this.userConnections.clear();
    this.userGroups.clear();
  }
}

/** Hubs are created on first use, as in the service (there is no "create hub" call). */
export class HubRegistry {
  private readonly hubs = new Map<string, Hub>();

  constructor(private readonly log: Log) {}

  get(name: string): Hub {
    let hub = this.hubs.get(name);
    if (!hub) this.hubs.set(name, (hub = new Hub(name, this.log)));
    return hub;
  }

  terminateAll(): void {
    for (const hub of this.hubs.values()) hub.terminateAll();
    this.hubs.clear();
  }
}

/** Hub names, as constrained by the REST spec: `^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$`. */
export function isValidHubName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$/.test(name);
}

/** Group names: 1..1024 characters and not only whitespace (REST spec). */
export function isValidGroupName(name: string): boolean {
  return name.length > 0 && name.length <= 1024 && !/^\s+$/.test(name);
}
