/**
 * Local Azure Web PubSub stand-in for development and tests (never deployed).
 *
 * It speaks the service's wire protocols so the real SDKs work unmodified:
 *   - @azure/web-pubsub `WebPubSubServiceClient` → REST data plane (restApi.ts)
 *   - @azure/web-pubsub-client `WebPubSubClient` → client WebSocket endpoint (clientProtocol.ts)
 * Both authenticate with access-key JWTs (auth.ts). State lives in memory (hubState.ts) and
 * is lost on close(), like sessions in a service outage.
 *
 * Note for callers: the REST SDK refuses plain-http endpoints unless the client is created
 * with `{ allowInsecureConnection: true }` (core-rest-pipeline checks this per request).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClientEndpoint } from './clientProtocol.js';
import { HubRegistry } from './hubState.js';
import { importAccessKey } from './auth.js';
import { createRestHandler } from './restApi.js';

export interface WebPubSubEmulatorOptions {
  /** Listen address; default 'localhost' (both 127.0.0.1 and ::1). */
  host?: string;
  /** Default 8080; 0 = ephemeral. */
  port?: number;
  /** Default: the key Microsoft's own local emulator uses. */
  accessKey?: string;
  /** Optional request log sink; tokens are never logged. */
  log?: (line: string) => void;
}

export interface WebPubSubEmulator {
  readonly port: number;
  /** e.g. 'http://localhost:8080' */
  readonly endpoint: string;
  /** `Endpoint=${endpoint};AccessKey=${accessKey};Version=1.0;` */
  readonly connectionString: string;
  /** Terminates every WebSocket and frees the port. */
  close(): Promise<void>;
}

export const DEFAULT_ACCESS_KEY = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH';
export const DEFAULT_PORT = 8080;

function isAddressError(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    // Drop idle keep-alive sockets (the SDK pools them) so the port frees at once.
    server.closeAllConnections();
  });
}

/**
 * Which addresses to bind. Connection strings say `http://localhost:PORT` and Node ≥17
 * resolves `localhost` in OS order, which may be ::1 first; binding both loopback
 * addresses makes either resolution work without exposing the emulator to the network.
 */
function bindAddresses(host: string): string[] {
  return host === 'localhost' ? ['127.0.0.1', '::1'] : [host];
}

/** The host to advertise in the endpoint URL. */
function endpointHost(host: string): string {
  if (host === 'localhost' || host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startWebPubSubEmulator(options: WebPubSubEmulatorOptions = {}): Promise<WebPubSubEmulator> {
  const host = options.host ?? 'localhost';
  const requestedPort = options.port ?? DEFAULT_PORT;
  const accessKey = options.accessKey ?? DEFAULT_ACCESS_KEY;
  const userLog = options.log;
  const log = (line: string) => {
    if (!userLog) return;
    try {
      userLog(line);
    } catch {
      // A failing log sink must not break request handling.
    }
  };
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new RangeError(`Invalid port ${String(requestedPort)}.`);
  }

  const key = await importAccessKey(accessKey);
  const registry = new HubRegistry(log);
  const clients = createClientEndpoint({ registry, key, log });
  const rest = createRestHandler({ registry, key, log });

  const makeServer = (): Server => {
    const server = createServer(rest);
    server.on('upgrade', (request, socket, head) => clients.handleUpgrade(request, socket, head));
    // Malformed HTTP from a client: answer 400 instead of crashing or hanging.
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    return server;
  };

  const addresses = bindAddresses(host);
  let servers: Server[] = [];
  let port = requestedPort;
  // With an ephemeral port, the first address picks the port and the others must get the
  // same one; if another process holds it on the second address, start over.
  for (let attempt = 0; ; attempt++) {
    servers = [];
    port = requestedPort;
    try {
      for (const [index, address] of addresses.entries()) {
        const server = makeServer();
        try {
          port = await listen(server, port, address);
          servers.push(server);
        } catch (error) {
          // No IPv6 on this machine: serve 127.0.0.1 only.
          if (index > 0 && isAddressError(error, 'EADDRNOTAVAIL', 'EAFNOSUPPORT')) continue;
          throw error;
        }
      }
      break;
    } catch (error) {
      await Promise.all(servers.map(closeServer));
      if (requestedPort === 0 && attempt < 5 && isAddressError(error, 'EADDRINUSE')) continue;
      clients.close();
      throw error;
    }
  }

  const endpoint = `http://${endpointHost(host)}:${port}`;
  log(`[emulator] listening on ${endpoint} (${addresses.join(', ')})`);

  let closing: Promise<void> | undefined;
  return {
    port,
    endpoint,
    connectionString: `Endpoint=${endpoint};AccessKey=${accessKey};Version=1.0;`,
    close() {
      closing ??= (async () => {
        clients.close();
        registry.terminateAll();
        await Promise.all(servers.map(closeServer));
        log('[emulator] closed');
      })();
      return closing;
    },
  };
}
