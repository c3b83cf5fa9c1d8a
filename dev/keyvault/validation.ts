/**
 * Request validation with the service's limits: secret names, the PUT/PATCH bodies
 * and their attributes. Failures are 400 BadParameter. Messages never echo a
 * secret value.
 */
import { badParameter } from './errors.js';
import type { SecretAttributesInput, SetSecretInput, UpdateSecretInput } from './store.js';

export const SECRET_NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
/** 25 KB, the service's limit on a secret value. */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;
export const MAX_CONTENT_TYPE_LENGTH = 255;
export const MAX_TAGS = 15;
export const MAX_TAG_NAME_LENGTH = 512;
export const MAX_TAG_VALUE_LENGTH = 256;

export function assertSecretName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw badParameter(`The request URI contains an invalid name: ${name.slice(0, 200)}`);
  }
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `undefined` and `null` both mean "not given". */
function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

export function parseJsonBody(raw: Buffer | undefined): JsonObject {
  if (!raw || raw.length === 0) throw badParameter('The request body is missing.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    // Deliberately not echoing the parser message: it quotes the body, which may hold a secret value.
    throw badParameter('The request body is not valid JSON.');
  }
  if (!isObject(parsed)) throw badParameter('The request body must be a JSON object.');
  return parsed;
}

function parseUnixSeconds(value: unknown, field: string): number | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw badParameter(`Invalid attributes.${field}: expected an integer number of seconds since the Unix epoch.`);
  }
  return value;
}

function parseAttributes(value: unknown): SecretAttributesInput {
  if (!present(value)) return {};
  if (!isObject(value)) throw badParameter('Invalid attributes: expected a JSON object.');
  const out: SecretAttributesInput = {};
  if (present(value.enabled)) {
    if (typeof value.enabled !== 'boolean') throw badParameter('Invalid attributes.enabled: expected a boolean.');
    out.enabled = value.enabled;
  }
  const nbf = parseUnixSeconds(value.nbf, 'nbf');
  if (nbf !== undefined) out.nbf = nbf;
  const exp = parseUnixSeconds(value.exp, 'exp');
  if (exp !== undefined) out.exp = exp;
  return out;
}

function parseContentType(value: unknown): string | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== 'string') throw badParameter('Invalid contentType: expected a string.');
  if (value.length > MAX_CONTENT_TYPE_LENGTH) {
    throw badParameter(`Invalid contentType: at most ${MAX_CONTENT_TYPE_LENGTH} characters are allowed.`);
  }
  return value;
}

function parseTags(value: unknown): Record<string, string> | undefined {
  if (!present(value)) return undefined;
  if (!isObject(value)) throw badParameter('Invalid tags: expected a JSON object of string values.');
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS) throw badParameter(`Invalid tags: at most ${MAX_TAGS} tags are allowed.`);
  const tags: Record<string, string> = {};
  for (const [name, tagValue] of entries) {
    if (name.length === 0 || name.length > MAX_TAG_NAME_LENGTH) {
      throw badParameter(`Invalid tags: tag names must have 1 to ${MAX_TAG_NAME_LENGTH} characters.`);
    }
    if (typeof tagValue !== 'string') throw badParameter(`Invalid tags: the value of tag '${name}' must be a string.`);
    if (tagValue.length > MAX_TAG_VALUE_LENGTH) {
      throw badParameter(`Invalid tags: the value of tag '${name}' exceeds ${MAX_TAG_VALUE_LENGTH} characters.`);
    }
    tags[name] = tagValue;
  }
  return tags;
}

/** Body of PUT /secrets/{name}: `{ value, contentType?, tags?, attributes?: { enabled, nbf, exp } }`. */
export function parseSetSecretBody(body: JsonObject): SetSecretInput {
  const { value } = body;
  if (typeof value !== 'string') throw badParameter('Property value is required and must be a string.');
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_VALUE_BYTES) {
    throw badParameter(`The secret value exceeds the maximum size of ${MAX_SECRET_VALUE_BYTES} bytes.`);
  }
  const contentType = parseContentType(body.contentType);
  const tags = parseTags(body.tags);
  return {
    value,
    ...(contentType !== undefined ? { contentType } : {}),
    ...(tags !== undefined ? { tags } : {}),
    ...parseAttributes(body.attributes),
  };
}

/**
 * Body of PATCH /secrets/{name}/{version}: only the given fields change. Like the service,
 * a `value` property is ignored (a value change needs a new version via PUT).
 */
export function parseUpdateSecretBody(body: JsonObject): UpdateSecretInput {
  const contentType = parseContentType(body.contentType);
  const tags = parseTags(body.tags);
  return {
    ...(contentType !== undefined ? { contentType } : {}),
    ...(tags !== undefined ? { tags } : {}),
    ...parseAttributes(body.attributes),
  };
}
