/**
 * Log lines of the local host. One sink call per log call, formatted `[<function>] <Level>: <message>`
 * (`[host]` for host-level lines).
 *
 * Filtering follows host.json `logging.logLevel` (https://learn.microsoft.com/azure/azure-functions/configure-monitoring#configure-log-levels):
 * user logs are category `Function.<name>.User`, host lines about an invocation `Function.<name>`; the most
 * specific configured prefix wins, then `default`, then Information. Library/worker "system" logs only show at
 * Warning and above (in Azure they go to the host's internal categories, not to the app's stream).
 *
 * Nothing here ever formats request headers or bodies: callers pass only function-produced messages and
 * host facts (names, ids, durations, error messages).
 */
import type { RpcLogLevel } from './coreTypes.js';

export type LogSink = (line: string) => void;

const LEVEL_ORDER: Record<string, number> = {
  trace: 0,
  debug: 1,
  information: 2,
  warning: 3,
  error: 4,
  critical: 5,
  none: 6,
};

const DISPLAY: Record<string, string> = {
  trace: 'Trace',
  debug: 'Debug',
  information: 'Information',
  warning: 'Warning',
  error: 'Error',
  critical: 'Critical',
};

function levelRank(name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  return LEVEL_ORDER[name.toLowerCase()];
}

export class HostLogger {
  readonly #sink: LogSink;
  readonly #levels: Array<[string, number]>;

  constructor(sink: LogSink, logLevels: Record<string, string> = {}) {
    this.#sink = sink;
    // Longest category prefix first, so "Function.x" beats "Function".
    this.#levels = Object.entries(logLevels)
      .map(([category, level]): [string, number | undefined] => [category.toLowerCase(), levelRank(level)])
      .filter((e): e is [string, number] => e[1] !== undefined)
      .sort((a, b) => b[0].length - a[0].length);
  }

  /** Minimum level rank enabled for a category (prefix match on dot boundaries, then "default"). */
  #minimum(category: string): number {
    const lower = category.toLowerCase();
    for (const [prefix, rank] of this.#levels) {
      if (prefix === 'default') continue;
      if (lower === prefix || lower.startsWith(`${prefix}.`)) return rank;
    }
    const def = this.#levels.find(([prefix]) => prefix === 'default');
    return def ? def[1] : LEVEL_ORDER.information!;
  }

  #emit(source: string, level: RpcLogLevel, message: string): void {
    try {
      this.#sink(`[${source}] ${DISPLAY[level] ?? level}: ${message}`);
    } catch {
      // A failing sink must never fail an invocation.
    }
  }

  /** A log written by function code (context.log / info / warn / error...). */
  user(functionName: string, level: RpcLogLevel, message: string): void {
    const rank = LEVEL_ORDER[level] ?? LEVEL_ORDER.information!;
    if (level === 'none' || rank < this.#minimum(`Function.${functionName}.User`)) return;
    this.#emit(functionName, level, message);
  }

  /** A host line about one function (Executing / Executed / errors). */
  function(functionName: string, level: RpcLogLevel, message: string): void {
    const rank = LEVEL_ORDER[level] ?? LEVEL_ORDER.information!;
    if (level === 'none' || rank < this.#minimum(`Function.${functionName}`)) return;
    this.#emit(functionName, level, message);
  }

  /** A system log from the library or the host itself; only Warning and above reach the sink. */
  system(level: RpcLogLevel, message: string, functionName?: string): void {
    const rank = LEVEL_ORDER[level] ?? LEVEL_ORDER.information!;
    if (level === 'none' || rank < LEVEL_ORDER.warning!) return;
    this.#emit(functionName ?? 'host', level, message);
  }

  /** A host line that always shows (startup banner, key notice). */
  host(message: string): void {
    this.#emit('host', 'information', message);
  }

  /** Raw line to the sink (used for the startup listing). */
  raw(line: string): void {
    try {
      this.#sink(line);
    } catch {
      // ignore
    }
  }
}
