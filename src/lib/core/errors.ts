/**
 * Errors with stable codes. Domain code throws these; the HTTP edge (`http/problem.ts`) maps them to
 * RFC 9457 problem details once. Messages and details never carry a secret, token or signature.
 */

/** Every problem code the API can answer with, and its HTTP status. Clients switch on `code`. */
export const PROBLEMS = {
  MISSING_HEADER: { status: 400, title: 'A required header is missing' },
  INVALID_HEADER: { status: 400, title: 'A header is malformed' },
  INVALID_JSON: { status: 400, title: 'The body is not valid JSON' },
  INVALID_SIGNATURE: { status: 401, title: 'No valid webhook signature' },
  TIMESTAMP_OUT_OF_TOLERANCE: { status: 401, title: 'The webhook timestamp is too old or too new' },
  SESSION_INVALID: { status: 401, title: 'The session token is missing, invalid, expired or revoked' },
  REAUTH_REQUIRED: { status: 401, title: 'ServiceNow refused the refresh token: sign in again' },
  AUTH_FAILED: { status: 401, title: 'ServiceNow rejected the sign-in' },
  UNKNOWN_INSTANCE: { status: 404, title: 'Unknown ServiceNow instance' },
  DEADLETTER_NOT_FOUND: { status: 404, title: 'Dead letter not found' },
  SESSION_NOT_FOUND: { status: 404, title: 'Session not found' },
  CONFLICT: { status: 409, title: 'The resource changed meanwhile' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  INVALID_EVENT: { status: 422, title: 'The event does not match the envelope schema' },
  INVALID_REQUEST: { status: 422, title: 'The request body is invalid' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  STORAGE_UNAVAILABLE: { status: 503, title: 'Storage is unavailable' },
  KEY_VAULT_UNAVAILABLE: { status: 503, title: 'Key Vault is unavailable' },
  UPSTREAM_UNAVAILABLE: { status: 503, title: 'ServiceNow is unavailable' },
  WEBPUBSUB_UNAVAILABLE: { status: 503, title: 'Web PubSub is unavailable' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemOptions {
  /** Field errors, for 422 answers. */
  errors?: FieldError[];
  /** Seconds, for 429 and 503 answers. */
  retryAfter?: number;
  cause?: unknown;
}

export class ProblemError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly retryAfter?: number;

  constructor(code: ProblemCode, detail: string, options: ProblemOptions = {}) {
    super(`${code}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProblemError';
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
    this.detail = detail;
    if (options.errors) this.errors = options.errors;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** A dependency (Tables, Key Vault, Web PubSub, ServiceNow) could not be reached or failed: a system fault, not the caller's. */
export type Dependency = 'tables' | 'keyVault' | 'webPubSub' | 'serviceNow';

const DEPENDENCY_CODES: Record<Dependency, ProblemCode> = {
  tables: 'STORAGE_UNAVAILABLE',
  keyVault: 'KEY_VAULT_UNAVAILABLE',
  webPubSub: 'WEBPUBSUB_UNAVAILABLE',
  serviceNow: 'UPSTREAM_UNAVAILABLE',
};

export class DependencyError extends ProblemError {
  readonly dependency: Dependency;
  constructor(dependency: Dependency, operation: string, cause?: unknown, retryAfter = 5) {
    super(DEPENDENCY_CODES[dependency], `${dependency} failed during ${operation}; retry later.`, { cause, retryAfter });
    this.name = 'DependencyError';
    this.dependency = dependency;
  }
}

/**
 * A one-line description of anything thrown, safe to log: its name, code and HTTP status, and the
 * message only for our own errors (SDK messages can echo request URLs and headers).
 */
export function describeError(error: unknown): string {
  if (error instanceof ProblemError) {
    const cause = error.cause === undefined ? '' : ` (cause: ${describeError(error.cause)})`;
    return `${error.name} ${error.code}: ${error.detail}${cause}`;
  }
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; statusCode?: unknown };
    const parts = [e.name];
    if (typeof e.code === 'string') parts.push(`code=${e.code}`);
    if (typeof e.statusCode === 'number') parts.push(`status=${e.statusCode}`);
    return parts.join(' ');
  }
  return typeof error;
}
