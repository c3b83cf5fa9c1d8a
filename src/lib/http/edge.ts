/**
 * The HTTP edge: the one place where results and errors become responses. Kept free of heavy imports
 * (no SDKs, no zod) so that function files can load it at cold start.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { describeError, ProblemError } from '../core/errors.js';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } };
}

export function noContent(): HttpResponseInit {
  return { status: 204 };
}

export function problem(error: ProblemError, instance?: string): HttpResponseInit {
  const body: Record<string, unknown> = {
    type: 'about:blank',
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.detail,
  };
  if (instance) body.instance = instance;
  if (error.errors) body.errors = error.errors;
  const headers: Record<string, string> = { 'content-type': 'application/problem+json; charset=utf-8' };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfter)));
  return { status: error.status, body: JSON.stringify(body), headers };
}

/**
 * Wraps a handler so that every failure becomes a problem+json answer. Our own errors map to their
 * status; anything else is a 500 whose log line names the error type only (SDK messages may echo URLs).
 */
export function handleProblems(handler: HttpHandler): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext) => {
    try {
      return await handler(request, context);
    } catch (error) {
      const path = new URL(request.url).pathname;
      if (error instanceof ProblemError) {
        if (error.status >= 500) context.warn(`${request.method} ${path} -> ${error.status}: ${describeError(error)}`);
        return problem(error, path);
      }
      context.error(`${request.method} ${path} failed: ${describeError(error)}`);
      return problem(new ProblemError('INTERNAL', 'An unexpected error occurred; it has been logged.'), path);
    }
  };
}

/** Reads the request body as raw bytes (signatures are computed over bytes, never over re-encoded text). */
export async function readBytes(request: HttpRequest): Promise<Uint8Array> {
  return new Uint8Array(await request.arrayBuffer());
}

/** Parses a JSON request body for the JSON APIs (admin, sessions): 400 INVALID_JSON when it is not JSON. */
export async function readJson(request: HttpRequest): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemError('INVALID_JSON', 'The request body is not valid JSON.');
  }
}
