import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_DIR, startStack, type Stack } from '../../dev/stack.js';
import { sign, webhookKey } from '../../src/lib/webhooks/verifySignature.js';

/** A clock that follows real time, and that a test can move forward (the outbox timer's schedule). */
export class TestClock {
  private skew = 0;
  now(): number {
    return Date.now() + this.skew;
  }
  advance(ms: number): void {
    this.skew += ms;
  }
}

export interface TestStack extends Stack {
  clock: TestClock;
  logs: string[];
  /** Secrets and tokens this stack handed out or was given: none may ever appear in a log line. */
  secrets: Set<string>;
}

export const FUNCTION_KEY = 'test-function-key';

/** The whole local stack on free ports, in memory, running the TypeScript sources of the functions. */
export async function startTestStack(settings: Record<string, string> = {}, stateDir?: string): Promise<TestStack> {
  const clock = new TestClock();
  const logs: string[] = [];
  const functionsDir = path.join(PROJECT_DIR, 'src/functions');
  const stack = await startStack({
    ports: { host: 0, azurite: 0, webPubSub: 0, keyVault: 0 },
    appEntries: readdirSync(functionsDir).filter((f) => f.endsWith('.ts')).map((f) => path.join(functionsDir, f)),
    runTimers: false,
    ...(stateDir ? { stateDir } : {}),
    clock,
    log: (line) => logs.push(line),
    settings: {
      LOCAL_FUNCTION_KEY: FUNCTION_KEY,
      ALLOW_INSECURE_LOOPBACK: 'true',
      TABLE_PREFIX: `t${randomBytes(4).toString('hex')}`,
      ...settings,
    },
  });
  const secrets = new Set<string>();
  const close = stack.close.bind(stack);
  return Object.assign(stack, {
    clock,
    logs,
    secrets,
    // Every test file's stack checks its whole log on the way out, so the suite's log capture as a
    // whole is checked for webhook secrets, client secrets, refresh and access tokens.
    async close() {
      await close();
      const text = logs.join('\n');
      const leaked = [...secrets].filter((secret) => secret.length >= 8 && text.includes(secret));
      if (leaked.length > 0) throw new Error(`${leaked.length} secret(s) or token(s) appear in the logs`);
    },
  });
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  key?: string | null;
  headers?: Record<string, string>;
}

export async function call(stack: Stack, route: string, options: CallOptions = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== null) headers['x-functions-key'] = options.key ?? FUNCTION_KEY;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${stack.url}/api/${route}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

export async function createInstance(stack: Stack, id: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await call(stack, `admin/instances/${id}`, {
    method: 'PUT',
    body: { name: `Instance ${id}`, baseUrl: `https://${id}.service-now.com`, clientId: 'flowquest-mobile', ...extra },
  });
  if (response.status !== 201) throw new Error(`create instance ${id}: ${response.status} ${JSON.stringify(response.body)}`);
  const secret = response.body.webhookSecret as string;
  (stack as Partial<TestStack>).secrets?.add(secret);
  if (typeof extra.clientSecret === 'string') (stack as Partial<TestStack>).secrets?.add(extra.clientSecret);
  return secret;
}

export interface SignedOptions {
  id?: string;
  timestamp?: number;
  headers?: Record<string, string | null>;
  signature?: string;
}

/** POSTs a body to the webhook route, signed the Standard Webhooks way. */
export async function postWebhook(
  stack: Stack & { clock?: TestClock },
  instanceId: string,
  secret: string,
  body: Uint8Array | string,
  options: SignedOptions = {},
): Promise<{ status: number; headers: Headers; body: any; id: string }> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const id = options.id ?? `evt_${randomUUID()}`;
  const timestamp = options.timestamp ?? Math.floor((stack.clock?.now() ?? Date.now()) / 1000);
  const signature = options.signature ?? `v1,${sign(webhookKey(secret), id, timestamp, bytes).toString('base64')}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  const response = await fetch(`${stack.url}/api/webhooks/servicenow/${instanceId}`, { method: 'POST', headers, body: bytes });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, id };
}
