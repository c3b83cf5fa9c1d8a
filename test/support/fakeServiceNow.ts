import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface FakeServer {
  url: string;
  requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

const TLS_DIR = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/tls');

/** A throwaway HTTP(S) server on loopback with a handler per test. */
export async function startFakeServer(handler: Handler, options: { tls?: boolean } = {}): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      handler(req, res, body);
    });
  };
  const server = options.tls
    ? createHttpsServer({ key: readFileSync(path.join(TLS_DIR, 'key.pem')), cert: readFileSync(path.join(TLS_DIR, 'cert.pem')) }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** What a ServiceNow instance answers to the connection test's two requests. */
export function serviceNowLike(token: (form: URLSearchParams) => [number, unknown]): Handler {
  return (req, res, body) => {
    if (req.url?.startsWith('/api/now/table/')) {
      return sendJson(res, 401, { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
    }
    if (req.url === '/oauth_token.do') {
      const [status, answer] = token(new URLSearchParams(body));
      return sendJson(res, status, answer);
    }
    sendJson(res, 404, {});
  };
}
