/** What every standalone local service (the `main.ts` of each folder under dev/) shares: reading its port, and stopping cleanly. */

export function portSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`${name} must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

/**
 * Stops the service on SIGINT or SIGTERM (a second signal exits at once, and a close that hangs is cut
 * after 3 s so a terminal is never held), and exits non-zero when start-up fails.
 */
export function runUntilStopped(label: string, start: () => Promise<{ close(): Promise<void> }>): void {
  start().then(
    (service) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          console.error(`Received ${signal} again; exiting immediately`);
          process.exit(1);
        }
        stopping = true;
        setTimeout(() => process.exit(0), 3_000).unref();
        service.close().then(
          () => {
            process.exitCode = 0;
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          },
          (error: unknown) => {
            console.error(`${label} failed to stop cleanly:`, error instanceof Error ? error.message : error);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (error: unknown) => {
      console.error(`${label} failed to start:`, error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
