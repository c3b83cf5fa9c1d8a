/**
 * Signed events to the bridge, as the `FlowQuestWebhook` Script Include sends them (CONTRACT.md
 * §1 and §7): `POST {bridgeUrl}/api/webhooks/servicenow/{instanceId}` with Standard Webhooks
 * headers. The signature is `base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))` over the exact
 * bytes sent, where `key` is the base64-decoded part of the `whsec_` secret; that is what
 * ServiceNow's `GlideCertificateEncryption.generateMac(base64Key, "HmacSHA256", data)` returns.
 */
import { createHmac, randomUUID } from 'node:crypto';

export interface WebhookTarget {
  bridgeUrl: string;
  instanceId: string;
  secret: string;
}

export interface EmitResult {
  status: number;
  body: unknown;
  webhookId: string;
}

export class NoWebhookTargetError extends Error {
  constructor() {
    super('No webhook target is configured: call configureWebhook({ bridgeUrl, instanceId, secret }) first.');
    this.name = 'NoWebhookTargetError';
  }
}

const INSTANCE_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Bounded, so a bridge that never answers cannot hold an emit (or a test) forever. */
const EMIT_TIMEOUT_MS = 15_000;

/** The HMAC key of a `whsec_<base64>` secret. */
export function webhookKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : undefined;
  if (!encoded || !BASE64.test(encoded)) throw new TypeError('The webhook secret must be whsec_ followed by base64.');
  return Buffer.from(encoded, 'base64');
}

export function signature(key: Buffer, webhookId: string, timestamp: number, body: Uint8Array): string {
  return createHmac('sha256', key).update(`${webhookId}.${timestamp}.`).update(body).digest('base64');
}

interface ResolvedTarget {
  url: string;
  key: Buffer;
}

function resolveTarget(target: WebhookTarget): ResolvedTarget {
  if (!INSTANCE_ID.test(target.instanceId)) throw new TypeError(`Invalid instanceId: ${JSON.stringify(target.instanceId)}`);
  let base: URL;
  try {
    base = new URL(target.bridgeUrl);
  } catch {
    throw new TypeError(`bridgeUrl is not a URL: ${target.bridgeUrl}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('bridgeUrl must be http(s).');
  // Keep a path prefix if the bridge sits under one; `{endpoint}` in the contract has no path.
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return { url: new URL(`api/webhooks/servicenow/${target.instanceId}`, base).toString(), key: webhookKey(target.secret) };
}

async function readAnswer(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class WebhookSender {
  private target: ResolvedTarget | undefined;

  constructor(
    private readonly closing: AbortSignal,
    private readonly log: (line: string) => void,
  ) {}

  /** Checks the target once, here, so a bad secret fails at configuration and not at the first event. */
  configure(target: WebhookTarget | null): void {
    this.target = target ? resolveTarget(target) : undefined;
  }

  get url(): string | undefined {
    return this.target?.url;
  }

  async emit(event: object): Promise<EmitResult> {
    const target = this.target;
    if (!target) throw new NoWebhookTargetError();
    if (event === null || typeof event !== 'object' || Array.isArray(event)) throw new TypeError('An event must be a JSON object.');
    // One new id per event (the contract's idempotency key): 32 hex characters, like gs.generateGUID().
    const webhookId = randomUUID().replaceAll('-', '');
    const timestamp = Math.floor(Date.now() / 1000);
    const body = Buffer.from(JSON.stringify(event), 'utf8');
    const response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${signature(target.key, webhookId, timestamp, body)}`,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([this.closing, AbortSignal.timeout(EMIT_TIMEOUT_MS)]),
    });
    const answer = await readAnswer(response);
    this.log(`emit: ${webhookId} → ${response.status}`);
    return { status: response.status, body: answer, webhookId };
  }
}
