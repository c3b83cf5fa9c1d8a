/** What every route handler shares: the configuration, the token store, faults, counters. */
import type { IncomingMessage } from 'node:http';

import type { FaultQueues } from './faults.js';
import type { Config } from './options.js';
import type { Table } from './tables.js';
import type { TokenStore } from './tokenStore.js';
import type { WebhookSender } from './webhook.js';

export interface Stats {
  tokenRequests: number;
  refreshGrants: number;
  codeGrants: number;
  revocations: number;
  tableRequests: number;
}

export interface Context {
  readonly config: Config;
  readonly store: TokenStore;
  readonly tables: ReadonlyMap<string, Table>;
  readonly faults: FaultQueues;
  readonly stats: Stats;
  readonly webhook: WebhookSender;
  /** Aborted by close(): pending latency waits and hanging answers end, in-flight emits are cancelled. */
  readonly closing: AbortSignal;
  tokenLatencyMs: number;
  /** The instance's base URL as the caller addressed it (for reference `link`s). */
  baseUrl(req: IncomingMessage): string;
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never answers; close() destroys the connection. */
export function hangUntilClosed(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
