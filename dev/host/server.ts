/**
 * The HTTP front end: what the Functions host does before and after the worker sees a request.
 *
 * - `POST /admin/functions/{name}` (not under the route prefix) runs a non-HTTP function, as the host's admin
 *   API does (https://learn.microsoft.com/azure/azure-functions/functions-manually-run-non-http): key required,
 *   202 Accepted and the run continues in the background; 404 for an unknown function.
 * - Other paths are matched against "{routePrefix}/{route}" (routes.ts). No match, including a method that
 *   is not allowed, is 404 with an empty body, as the host answers.
 * - authLevel `function` / `admin` need the key as `x-functions-key` header or `code` query parameter;
 *   otherwise 401 with an empty body (https://learn.microsoft.com/azure/azure-functions/function-keys-how-to).
 *   `anonymous` passes. Locally there is one key (LOCAL_FUNCTION_KEY) for all levels.
 * - Request bodies over the limit (100 MB like the host, or FUNCTIONS_REQUEST_BODY_SIZE_LIMIT) get 413.
 * - An exception from the function gives 500 with an empty body, like the host; the error is logged, the
 *   request never is.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostFunction } from './functions.js';
import { toRpcHttpRequest, writeRpcHttpResponse } from './httpRpc.js';
import { createTraceContext, FunctionInvocationError, type InvocationResult } from './invoke.js';
import type { HostLogger } from './logging.js';
import type { RouteTable } from './routes.js';
import type { RpcParameterBinding, RpcTraceContext, RpcTypedData } from './coreTypes.js';

export const DEFAULT_BODY_LIMIT = 104_857_600; // 100 MB, the host's default request body size limit

export interface HttpInvokeArgs {
  fn: HostFunction;
  inputData: RpcParameterBinding[];
  triggerMetadata: Record<string, RpcTypedData>;
  traceContext: RpcTraceContext;
}

export interface DispatcherOptions {
  /** HTTP functions under their full "{routePrefix}/{route}" templates. */
  routes: RouteTable<HostFunction>;
  functionKey: string;
  bodyLimit: number;
  logger: HostLogger;
  /** Run an HTTP-triggered function (tracked as in flight by the caller). */
  invokeHttp(args: HttpInvokeArgs): Promise<InvocationResult>;
  /** Start a non-HTTP function through the admin API: 'unknown' → 404, 'http' → 400, 'started' → 202. */
  runAdmin(name: string, input: string | undefined): 'started' | 'unknown' | 'http';
  /** Wrap a request's whole handling so close() can wait for it. */
  track<T>(work: Promise<T>): Promise<T>;
}

class BodyTooLargeError extends Error {}

function keyMatches(expected: string, provided: string | undefined): boolean {
  if (provided === undefined || provided === '') return false;
  // Compare digests so the comparison is constant-time regardless of lengths.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(provided).digest();
  return timingSafeEqual(a, b);
}

function providedKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-functions-key'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  return fromHeader ?? url.searchParams.get('code') ?? undefined;
}

function sendEmpty(res: ServerResponse, status: number, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = status;
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  res.setHeader('content-length', '0');
  res.end();
}

/** Read the whole body as raw bytes, enforcing the limit (413 before reading when Content-Length says so). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        req.pause();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed && !ended) {
        failed = true;
        reject(err);
      }
    });
    // A client that disconnects mid-upload must not leave the request pending (close() waits for it).
    req.on('close', () => {
      if (!failed && !ended) {
        failed = true;
        reject(new Error('The client closed the connection before the request body was complete.'));
      }
    });
  });
}

function requestUrl(req: IncomingMessage, fallbackHost: string): URL {
  const host = typeof req.headers.host === 'string' && req.headers.host !== '' ? req.headers.host : fallbackHost;
  try {
    return new URL(req.url ?? '/', `http://${host}`);
  } catch {
    return new URL(req.url ?? '/', `http://${fallbackHost}`);
  }
}

export function createDispatcher(opts: DispatcherOptions, fallbackHost: () => string) {
  const { logger } = opts;

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL, name: string): Promise<void> {
    if (!keyMatches(opts.functionKey, providedKey(req, url))) {
      req.resume();
      sendEmpty(res, 401);
      return;
    }
    let input: string | undefined;
    try {
      const body = await readBody(req, opts.bodyLimit);
      if (body.length > 0) {
        const parsed = JSON.parse(body.toString('utf8')) as unknown;
        if (parsed && typeof parsed === 'object' && 'input' in parsed) {
          const value = (parsed as { input: unknown }).input;
          input = typeof value === 'string' ? value : JSON.stringify(value);
        }
      }
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        sendEmpty(res, 413, { connection: 'close' });
        return;
      }
      sendEmpty(res, 400);
      return;
    }
    let functionName: string;
    try {
      functionName = decodeURIComponent(name);
    } catch {
      sendEmpty(res, 404);
      return;
    }
    const outcome = opts.runAdmin(functionName, input);
    if (outcome === 'unknown') sendEmpty(res, 404);
    else if (outcome === 'http') sendEmpty(res, 400);
    else sendEmpty(res, 202);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = requestUrl(req, fallbackHost());

    const admin = /^\/admin\/functions\/([^/]+)\/?$/i.exec(url.pathname);
    if (admin && method === 'POST') {
      await handleAdmin(req, res, url, admin[1]!);
      return;
    }

    // The route table holds full templates (prefix included), so the prefix also matches case-insensitively.
    const match = opts.routes.match(method, url.pathname);
    if (!match) {
      req.resume();
      sendEmpty(res, 404);
      return;
    }
    const fn = match.entry.value;
    const authLevel = fn.info.authLevel ?? 'anonymous';
    if (authLevel !== 'anonymous' && !keyMatches(opts.functionKey, providedKey(req, url))) {
      req.resume();
      sendEmpty(res, 401);
      return;
    }

    let body: Buffer;
    try {
      body = await readBody(req, opts.bodyLimit);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        // Stop reading the oversized upload; close the connection once the 413 is out.
        sendEmpty(res, 413, { connection: 'close' });
        res.on('finish', () => req.destroy());
      } else {
        res.destroy();
      }
      return;
    }

    const { http, triggerMetadata } = toRpcHttpRequest({
      method,
      url: url.toString(),
      headers: req.headers,
      params: match.params,
      body,
    });
    const traceParent = req.headers.traceparent;
    const traceState = req.headers.tracestate;
    let result: InvocationResult;
    try {
      result = await opts.invokeHttp({
        fn,
        inputData: [{ name: fn.triggerName, data: { http } }],
        triggerMetadata,
        traceContext: createTraceContext(
          typeof traceParent === 'string' ? traceParent : undefined,
          typeof traceState === 'string' ? traceState : undefined,
        ),
      });
    } catch (err) {
      if (!(err instanceof FunctionInvocationError)) {
        logger.system('error', `Invocation of '${fn.info.name}' failed in the host: ${(err as Error)?.message ?? String(err)}`);
      }
      sendEmpty(res, 500);
      return;
    }

    const outName = fn.httpOutputName;
    const response = result.response;
    const data =
      outName === undefined
        ? undefined
        : outName === '$return'
          ? response.returnValue
          : response.outputData?.find((o) => o.name === outName)?.data;
    try {
      writeRpcHttpResponse(res, data?.http ?? undefined, method);
    } catch (err) {
      logger.function(
        fn.info.name,
        'error',
        `Invalid HTTP response from function (Id=${result.invocationId}): ${(err as Error)?.message ?? String(err)}`,
      );
      sendEmpty(res, 500);
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    void opts.track(
      handle(req, res).catch((err: unknown) => {
        logger.system('error', `Request handling failed: ${(err as Error)?.message ?? String(err)}`);
        sendEmpty(res, 500);
      }),
    );
  };
}
