import type { Runtime } from '../runtime.js';

/**
 * The runtime for a function invocation, loaded on first use: keeps SDKs and schemas out of the cold
 * start, which only has to register the functions.
 */
export async function loadRuntime(options: { ready?: boolean } = {}): Promise<Runtime> {
  const { getRuntime } = await import('../runtime.js');
  const runtime = await getRuntime();
  if (options.ready !== false) await runtime.ready();
  return runtime;
}
