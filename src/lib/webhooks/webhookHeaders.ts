import { ProblemError } from '../core/errors.js';

/** What the Standard Webhooks headers say, parsed but not yet verified. */
export interface WebhookHeaders {
  id: string;
  /** Unix seconds of this delivery attempt. */
  timestamp: number;
  /** Decoded `v1` signatures; signatures of other versions are ignored, as the spec asks. */
  signatures: Buffer[];
}

export interface HeaderSource {
  get(name: string): string | null;
}

// Printable ASCII without '.': the id is joined with '.' into the signed content, so a '.' would make
// "{id}.{timestamp}" ambiguous (Standard Webhooks spec, "Signature scheme").
const WEBHOOK_ID = /^[\x20-\x2d\x2f-\x7e]{1,128}$/;
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE_ENTRY = /^(v[0-9a-z]+),(\S*)$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const JSON_MEDIA_TYPE = /^application\/json\s*(;.*)?$/i;

function required(headers: HeaderSource, name: string): string {
  const value = headers.get(name);
  if (value === null || value.trim() === '') {
    throw new ProblemError('MISSING_HEADER', `The ${name} header is required.`);
  }
  return value.trim();
}

/** 415 unless the body is declared as JSON (parameters such as charset are allowed). */
export function assertJsonContentType(headers: HeaderSource): void {
  const type = headers.get('content-type');
  if (type === null || !JSON_MEDIA_TYPE.test(type.trim())) {
    throw new ProblemError('UNSUPPORTED_MEDIA_TYPE', 'The body must be sent as application/json.');
  }
}

export function parseWebhookHeaders(headers: HeaderSource): WebhookHeaders {
  const id = required(headers, 'webhook-id');
  const timestampText = required(headers, 'webhook-timestamp');
  const signatureText = required(headers, 'webhook-signature');

  if (!WEBHOOK_ID.test(id)) {
    throw new ProblemError('INVALID_HEADER', 'webhook-id must be 1 to 128 printable characters without ".".');
  }
  if (!TIMESTAMP.test(timestampText)) {
    throw new ProblemError('INVALID_HEADER', 'webhook-timestamp must be an integer number of Unix seconds.');
  }
  const signatures: Buffer[] = [];
  for (const entry of signatureText.split(' ').filter((s) => s !== '')) {
    const match = SIGNATURE_ENTRY.exec(entry);
    if (!match) {
      throw new ProblemError('INVALID_HEADER', 'webhook-signature must be a space-separated list of "v1,<base64>" entries.');
    }
    // Other versions (v1a is the asymmetric scheme) are ignored, as the spec asks; a v1 value that is
    // not base64 simply cannot match.
    if (match[1] === 'v1' && BASE64.test(match[2] ?? '')) signatures.push(Buffer.from(match[2] ?? '', 'base64'));
  }
  return { id, timestamp: Number(timestampText), signatures };
}
