/** Injected faults: the next N calls to an endpoint answer with the fault instead of the real answer. */
import type { Fault } from './instance.js';

export type FaultTarget = 'token' | 'table';

export function checkFault(fault: Fault, count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError('injectFault: count must be a positive integer.');
  if ('hang' in fault || 'invalidGrant' in fault) return;
  if (!Number.isInteger(fault.status) || fault.status < 200 || fault.status > 599) {
    throw new RangeError(`injectFault: status must be an HTTP status from 200 to 599, got ${String(fault.status)}.`);
  }
  if (fault.retryAfter !== undefined && (!Number.isSafeInteger(fault.retryAfter) || fault.retryAfter < 0)) {
    throw new RangeError('injectFault: retryAfter must be a non-negative integer of seconds.');
  }
}

export class FaultQueues {
  private readonly queues: Record<FaultTarget, Array<{ fault: Fault; remaining: number }>> = { token: [], table: [] };

  add(target: FaultTarget, fault: Fault, count: number): void {
    checkFault(fault, count);
    this.queues[target].push({ fault, remaining: count });
  }

  /** The fault for this call, if one is queued; faults are used in the order they were injected. */
  take(target: FaultTarget): Fault | undefined {
    const queue = this.queues[target];
    const head = queue[0];
    if (!head) return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) queue.shift();
    return head.fault;
  }
}
