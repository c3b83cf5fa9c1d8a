/**
 * The main-thread side of a simulated ServiceNow instance (snWorker.ts): starts the worker, makes the
 * HTTP calls its scripts' RESTMessageV2.execute() asks for, and records every exchange. A fault plan can
 * answer a request here instead (it never reaches the bridge), or forward it and then lose the answer.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import type { HttpRequest, HttpResponse } from './glideShim.js';
import type { HttpReply, WorkerJob, WorkerMessage, WorkerOutcome } from './snWorker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHARED_BYTES = 1024 * 1024;
/** As snWorker.ts: [0] state, [1] answer length, then the answer. */
const HEADER_BYTES = 8;

/** What happens to one request instead of a plain call to the bridge. */
export type Fault =
  /** Answered here; the bridge never sees it. status 0 = no response (error is the message). */
  | { answer: HttpResponse }
  /** Sent to the bridge, which handles it, but the script sees this instead of the bridge's answer. */
  | { lose: HttpResponse }
  /** execute() throws this (as a Java exception). */
  | { throws: string };

export type FaultPlan = (request: HttpRequest, index: number) => Fault | undefined;

export interface Exchange {
  request: HttpRequest;
  /** The bridge's own answer, when the request reached it. */
  bridge?: HttpResponse;
  /** What execute() gave the script. */
  seen: HttpReply;
}

/**
 * Compiles the worker and the shim it imports with the TypeScript compiler into a temporary folder:
 * a worker thread runs outside the test runner's TypeScript transform.
 */
function compileWorker(): { dir: string; entry: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowquest-sn-'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const name of ['glideShim', 'snWorker']) {
    const source = readFileSync(path.join(HERE, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: `${name}.ts`,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, sourceMap: false },
    });
    writeFileSync(path.join(dir, `${name}.js`), outputText);
  }
  return { dir, entry: path.join(dir, 'snWorker.js') };
}

async function realCall(request: HttpRequest): Promise<HttpResponse> {
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.method === 'GET' ? undefined : Buffer.from(request.body, 'utf8'),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    return { status: response.status, body: await response.text() };
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') return { status: 0, error: 'java.net.SocketTimeoutException: Read timed out' };
    return { status: 0, error: 'java.net.ConnectException: Connection refused' };
  }
}

export class SimulatedInstance {
  readonly exchanges: Exchange[] = [];
  fault: FaultPlan | undefined;
  private pending: { resolve: (o: WorkerOutcome) => void; reject: (e: Error) => void } | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly shared: SharedArrayBuffer,
    private readonly dir: string,
  ) {
    worker.on('message', (message: WorkerMessage) => void this.onMessage(message));
    worker.on('error', (error) => this.settle(undefined, error));
  }

  static start(): SimulatedInstance {
    const { dir, entry } = compileWorker();
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    return new SimulatedInstance(new Worker(entry, { workerData: { shared } }), shared, dir);
  }

  /** Runs one job (steps in order, one realm) and resolves with the step results and the gs log lines. */
  run(job: WorkerJob): Promise<WorkerOutcome> {
    if (this.pending) return Promise.reject(new Error('one job at a time'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private settle(outcome: WorkerOutcome | undefined, error?: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    if (error) pending.reject(error);
    else pending.resolve(outcome!);
  }

  private async onMessage(message: WorkerMessage): Promise<void> {
    if (message.type === 'done') return this.settle(message.outcome);
    if (message.type === 'failed') return this.settle(undefined, new Error(`in the simulated instance: ${message.error}`));
    const request = message.request;
    const fault = this.fault?.(request, this.exchanges.length);
    const exchange: Exchange = { request, seen: { thrown: 'unset' } };
    if (fault && 'answer' in fault) {
      exchange.seen = { response: fault.answer };
    } else if (fault && 'throws' in fault) {
      exchange.seen = { thrown: fault.throws };
    } else {
      exchange.bridge = await realCall(request);
      exchange.seen = { response: fault && 'lose' in fault ? fault.lose : exchange.bridge };
    }
    this.exchanges.push(exchange);
    this.answer(exchange.seen);
  }

  private answer(reply: HttpReply): void {
    const bytes = Buffer.from(JSON.stringify(reply), 'utf8');
    if (bytes.length > SHARED_BYTES - HEADER_BYTES) throw new Error('answer too large for the shared buffer');
    const control = new Int32Array(this.shared, 0, 2);
    new Uint8Array(this.shared, HEADER_BYTES).set(bytes);
    Atomics.store(control, 1, bytes.length);
    Atomics.store(control, 0, 1);
    Atomics.notify(control, 0);
  }
}
