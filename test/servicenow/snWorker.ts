/**
 * A simulated ServiceNow node: a worker thread that runs the FlowQuest scripts in the Glide shim.
 * RESTMessageV2.execute() blocks this thread (Atomics.wait) while the test's main thread makes the real
 * HTTP call to the bridge, which runs on the main thread's event loop; the answer comes back through
 * shared memory. So a script sees real, synchronous HTTP, as on the platform.
 *
 * Run through instance.ts (which compiles this file and glideShim.ts for the worker); not a test itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createGlide, makeRecord, type HttpRequest, type HttpResponse, type LogLine, type RecordSpec } from './glideShim.js';

export interface NotifyOptions {
  maxAttempts?: number;
  httpTimeoutMs?: number;
}

export interface NotifyResult {
  outcome: string;
  id: string;
  status: number;
  attempts: number;
  notifications: number | null;
}

export interface BusinessRuleSource {
  name: string;
  condition: string;
  script: string;
}

export type WorkerStep =
  | { kind: 'notify'; record: RecordSpec; options?: NotifyOptions }
  | { kind: 'rule'; rule: BusinessRuleSource; record: RecordSpec };

export interface WorkerJob {
  scriptInclude: string;
  properties: Record<string, string>;
  /** Added to the node's clock (GlideDateTime), to play an instance whose clock is off. */
  clockSkewMs?: number;
  steps: WorkerStep[];
}

export interface StepResult {
  /** For a business rule: whether its condition held (the script ran only then). */
  conditionMet?: boolean;
  /** For notify: what it returned. */
  result?: NotifyResult;
}

export interface WorkerOutcome {
  results: StepResult[];
  logs: LogLine[];
}

/** Shared memory layout: [0] state (0 waiting, 1 answered), [1] answer length, then the answer (JSON, UTF-8). */
export const HEADER_BYTES = 8;

export type WorkerMessage =
  | { type: 'http'; request: HttpRequest }
  | { type: 'done'; outcome: WorkerOutcome }
  | { type: 'failed'; error: string };

/** What the main thread writes back for one request: the response, or the text execute() throws. */
export type HttpReply = { response: HttpResponse } | { thrown: string };

function main(): void {
  const port = parentPort;
  const shared = (workerData as { shared?: SharedArrayBuffer } | null)?.shared;
  if (!port || !shared) return;
  const control = new Int32Array(shared, 0, 2);
  const data = new Uint8Array(shared, HEADER_BYTES);

  const transport = (request: HttpRequest): HttpResponse => {
    Atomics.store(control, 0, 0);
    port.postMessage({ type: 'http', request } satisfies WorkerMessage);
    if (Atomics.wait(control, 0, 0, request.timeoutMs + 60_000) === 'timed-out') {
      throw new Error('java.net.SocketTimeoutException: the test harness did not answer');
    }
    const reply = JSON.parse(Buffer.from(data.slice(0, Atomics.load(control, 1))).toString('utf8')) as HttpReply;
    if ('thrown' in reply) throw new Error(reply.thrown);
    return reply.response;
  };

  port.on('message', (job: WorkerJob) => {
    try {
      const skew = job.clockSkewMs ?? 0;
      const glide = createGlide({ properties: job.properties, transport, now: () => Date.now() + skew });
      glide.load(job.scriptInclude, 'FlowQuestWebhook.js');
      const results: StepResult[] = job.steps.map((step) => {
        const current = makeRecord(step.record);
        if (step.kind === 'notify') {
          const result = glide.run<NotifyResult>('new FlowQuestWebhook(options).notify(current, previous)', {
            current,
            previous: null,
            options: step.options ?? null,
          });
          return { result: JSON.parse(JSON.stringify(result)) as NotifyResult };
        }
        const conditionMet = glide.run<boolean>(step.rule.condition, { current, previous: null }) === true;
        if (conditionMet) glide.run(step.rule.script, { current, previous: null });
        return { conditionMet };
      });
      port.postMessage({ type: 'done', outcome: { results, logs: glide.logs } } satisfies WorkerMessage);
    } catch (e) {
      port.postMessage({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerMessage);
    }
  });
}

main();
