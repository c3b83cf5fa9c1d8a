import { spawn } from 'node:child_process';

export interface Child {
  /** The first line of output that matched `ready`. */
  readonly readyLine: string;
  /** Stops the child with `signal` (its graceful stop), then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Runs a Node script as a child process and resolves once it prints a line matching `ready`: the
 * local services each get their own event loop, as they would as separate services.
 */
export function startChild(script: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, signal: NodeJS.Signals = 'SIGTERM'): Promise<Child> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => ready.test(l));
      if (!line) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve({
        readyLine: line,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(force);
              done();
            });
            child.kill(signal);
          }),
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}): ${output.trim().slice(-500)}`)));
  });
}
