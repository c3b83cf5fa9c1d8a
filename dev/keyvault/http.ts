/** Small node:http helpers: bounded body reading and JSON/error responses. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { KeyVaultError } from './errors.js';

/** Generous next to the 25 KB value limit; larger bodies are drained and refused. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Reads the whole request body; `undefined` when there is none. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0; // keep draining so the response can still be written, but drop the data
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (tooLarge) {
        reject(new KeyVaultError(413, 'RequestEntityTooLarge', `The request body exceeds ${limit} bytes.`));
      } else {
        resolve(size === 0 ? undefined : Buffer.concat(chunks));
      }
    });
    req.once('error', reject);
  });
}

function baseHeaders(): Record<string, string> {
  return {
    'cache-control': 'no-cache',
    'x-ms-request-id': randomUUID(),
    'x-ms-keyvault-service-version': 'flowquest-emulator',
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...baseHeaders(),
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204, baseHeaders());
  res.end();
}

export function sendError(res: ServerResponse, error: KeyVaultError, headers: Record<string, string> = {}): void {
  sendJson(res, error.status, error.toBody(), headers);
}
