/**
 * `npm run bench`: the webhook pipeline through the whole local stack, measured against the floor of
 * one durable write per event (bare Azurite inserts, same concurrency, same run), plus the app's cold
 * load against bare Node. A benchmark, not a test: it prints figures and asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TableClient } from '@azure/data-tables';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { WebPubSubClient } from '@azure/web-pubsub-client';
import { PROJECT_DIR, startStack, type Stack } from '../dev/stack.js';
import { sign, webhookKey } from '../src/lib/webhooks/verifySignature.js';
import { median, pool, summarise } from './stats.js';
import { benchTokenRoute } from './tokenRoute.js';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PACED_RATE = 100;
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const INSTANCE = 'bench';
const BETH = '46d44a23a9fe19810012d100cca80666';
const NETWORK = '287ebd7da9fe198100f92cc8d1d2154e';
const body = readFileSync(path.join(PROJECT_DIR, '../shared/fixtures/servicenow/incident-p1-inserted-assigned.json'));

const fmt = (n: number, digits = 1) => n.toFixed(digits);

/**
 * The floor: one durable write per event, done straight with the SDK into the same events table and
 * the same instance partition the pipeline writes to (Azurite slows down as a partition grows, so both
 * are measured on the same one, round after round), with entities the size of the pipeline's event rows.
 */
async function bareInsertRate(stack: Stack, round: number): Promise<number> {
  const table = TableClient.fromConnectionString(stack.azurite.connectionString, 'benchevents', { allowInsecureConnection: true });
  const payload = 'x'.repeat(1500);
  const prefix = `bare:${round}:${randomBytes(3).toString('hex')}:`;
  await pool(200, CONCURRENCY, (i) => table.createEntity({ partitionKey: INSTANCE, rowKey: `${prefix}w${i}`, payload }).then(() => undefined));
  const started = performance.now();
  await pool(EVENTS, CONCURRENCY, (i) => table.createEntity({ partitionKey: INSTANCE, rowKey: `${prefix}r${i}`, payload }).then(() => undefined));
  return (EVENTS / (performance.now() - started)) * 1000;
}

interface Receiver {
  receipts: Map<string, number>;
  stop(): void;
}

async function connect(stack: Stack): Promise<Receiver> {
  const receipts = new Map<string, number>();
  const client = new WebPubSubClient({
    getClientAccessUrl: async () =>
      (
        await new WebPubSubServiceClient(stack.webPubSub.connectionString, 'flowquest', { allowInsecureConnection: true }).getClientAccessToken({
          userId: `${INSTANCE}:${BETH}`,
          groups: [`${INSTANCE}:critical`, `${INSTANCE}:group:${NETWORK}`],
        })
      ).url,
  });
  const note = (data: unknown) => {
    const id = (data as { id?: string }).id;
    if (id && !receipts.has(id)) receipts.set(id, performance.now());
  };
  client.on('server-message', (e) => note(e.message.data));
  client.on('group-message', (e) => note(`${e.message.group}` && { id: `${(e.message.data as { id: string }).id}@${e.message.group}` }));
  await client.start();
  return { receipts, stop: () => client.stop() };
}

function post(stack: Stack, secret: Buffer, id: string): Promise<number> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = sign(secret, id, timestamp, body).toString('base64');
  return fetch(`${stack.url}/api/webhooks/servicenow/${INSTANCE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` },
    body,
  }).then(async (res) => {
    await res.arrayBuffer();
    return res.status;
  });
}

async function waitFor(receiver: Receiver, ids: string[], timeoutMs = 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const missing = ids.filter((id) => !receiver.receipts.has(id));
    if (missing.length === 0) return Math.max(...ids.map((id) => receiver.receipts.get(id) ?? 0));
    if (performance.now() > deadline) throw new Error(`${missing.length} message(s) never arrived`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The three messages of one P1 event as the client sees them. */
const messagesOf = (id: string) => [
  `${id}:incident.assigned`,
  `${id}:incident.critical@${INSTANCE}:critical`,
  `${id}:incident.critical@${INSTANCE}:group:${NETWORK}`,
];

async function endToEnd(stack: Stack, receiver: Receiver, secret: Buffer, label: string, n: number) {
  const ids = Array.from({ length: n }, (_, i) => `${label}-${i}`);
  const posted = new Map<string, number>();
  const started = performance.now();
  await pool(n, CONCURRENCY, async (i) => {
    const id = ids[i]!;
    posted.set(id, performance.now());
    const status = await post(stack, secret, id);
    if (status !== 202) throw new Error(`webhook answered ${status}`);
  });
  const lastReceipt = await waitFor(receiver, ids.flatMap(messagesOf));
  const latencies = ids.map((id) => (receiver.receipts.get(`${id}:incident.assigned`) ?? NaN) - (posted.get(id) ?? NaN));
  return { rate: (n / (lastReceipt - started)) * 1000, latency: summarise(latencies) };
}

async function paced(stack: Stack, receiver: Receiver, secret: Buffer) {
  const n = PACED_RATE * PACED_SECONDS;
  const ids = Array.from({ length: n }, (_, i) => `paced-${i}`);
  const posted = new Map<string, number>();
  const started = performance.now();
  const sends: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    const due = started + (i * 1000) / PACED_RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    posted.set(ids[i]!, performance.now());
    sends.push(post(stack, secret, ids[i]!));
  }
  await Promise.all(sends);
  await waitFor(receiver, ids.flatMap(messagesOf));
  return summarise(ids.map((id) => (receiver.receipts.get(`${id}:incident.assigned`) ?? NaN) - (posted.get(id) ?? NaN)));
}

function coldLoad(): { app: number; bare: number; functions: number } {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'coldLoad.js');
  const time = (args: string[]) => {
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, args, { cwd: PROJECT_DIR });
      if (r.status !== 0) throw new Error(r.stderr.toString());
      samples.push(performance.now() - t);
    }
    return median(samples);
  };
  const functions = Number(spawnSync(process.execPath, [script, '--print'], { cwd: PROJECT_DIR }).stdout.toString().trim());
  return { bare: time(['-e', '']), app: time([script]), functions };
}

async function main() {
  console.log(`FlowQuest Bridge benchmark — Node ${process.version}, ${CONCURRENCY} concurrent, ${EVENTS} events per round, ${ROUNDS} rounds`);
  const stack = await startStack({
    ports: { host: 0, azurite: 0, webPubSub: 0, keyVault: 0 },
    runTimers: false,
    emulators: 'child',
    settings: { LOCAL_FUNCTION_KEY: 'bench-key', ALLOW_INSECURE_LOOPBACK: 'true', TABLE_PREFIX: 'bench', TOKEN_RATE_LIMIT_PER_MINUTE: '100000' },
    log: () => undefined,
  });
  try {
    const created = await fetch(`${stack.url}/api/admin/instances/${INSTANCE}`, {
      method: 'PUT',
      headers: { 'x-functions-key': 'bench-key', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench', baseUrl: 'https://bench.service-now.com', clientId: 'bench' }),
    });
    const secret = webhookKey(((await created.json()) as { webhookSecret: string }).webhookSecret);
    const receiver = await connect(stack);
    await endToEnd(stack, receiver, secret, 'warmup', 300);

    // Latency at a steady 100 events/s first, while the instance partition is of an ordinary size.
    const pacedLatency = await paced(stack, receiver, secret);
    // Then throughput, each round beside the floor measured just before it on the same partition.
    const rounds: { bare: number; e2e: Awaited<ReturnType<typeof endToEnd>> }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const bare = await bareInsertRate(stack, round);
      rounds.push({ bare, e2e: await endToEnd(stack, receiver, secret, `round${round}`, EVENTS) });
    }
    receiver.stop();

    console.log('');
    console.log(`paced ${PACED_RATE} events/s for ${PACED_SECONDS} s   p50 ${fmt(pacedLatency.p50)} ms, p99 ${fmt(pacedLatency.p99)} ms, max ${fmt(pacedLatency.max)} ms  (POST → WebSocket; target p99 ≤ 50 ms)`);
    console.log(`throughput, ${CONCURRENCY} concurrent, ${EVENTS} events a round (each event: 3 sends, 1 inbox row):`);
    for (const [i, r] of rounds.entries()) {
      console.log(
        `  round ${i}: bare Azurite inserts ${fmt(r.bare, 0)}/s, end to end ${fmt(r.e2e.rate, 0)} events/s, ratio ${fmt(r.e2e.rate / r.bare, 2)}; ` +
          `latency under load p50 ${fmt(r.e2e.latency.p50)} ms, p99 ${fmt(r.e2e.latency.p99)} ms`,
      );
    }
    console.log(`  median ratio ${fmt(median(rounds.map((r) => r.e2e.rate / r.bare)), 2)}  (target ≥ 0.80)`);
    const token = await benchTokenRoute(stack, 'bench-key');
    console.log(`token route, ${token.calls} sequential calls each:`);
    console.log(`  cache hit                   p50 ${fmt(token.hit.p50)} ms, p99 ${fmt(token.hit.p99)} ms  (no upstream call)`);
    console.log(`  refresh through the bridge  p50 ${fmt(token.refresh.p50)} ms, p99 ${fmt(token.refresh.p99)} ms  (${token.bridgeRefreshes} upstream refreshes)`);
    console.log(`  dev instance refresh alone  p50 ${fmt(token.upstream.p50)} ms, p99 ${fmt(token.upstream.p99)} ms`);
    console.log(`  added by the bridge         p50 ${fmt(token.added.p50)} ms, p99 ${fmt(token.added.p99)} ms`);
  } finally {
    await stack.close();
  }
  const cold = coldLoad();
  console.log(`cold load (${cold.functions} functions)   ${fmt(cold.app)} ms vs node -e "" ${fmt(cold.bare)} ms: ${fmt(cold.app / cold.bare, 2)}×  (target ≤ 2.5×)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
