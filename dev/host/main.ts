/**
 * Standalone entry: `node dist/dev/host/main.js` in the project directory (the built app must exist, as
 * package.json "main" points into dist/). Prints the functions the way `func start` does, then
 * "Functions host listening on <url>", and shuts down cleanly on SIGINT / SIGTERM (a second signal forces exit).
 */
import { joinRoutePrefix } from './routes.js';
import { loadSettings, readHostConfig } from './settings.js';
import { startLocalHost } from './localHost.js';

async function main(): Promise<void> {
  const projectDir = process.cwd();
  // Settings first: the app may read them at import time, and PORT / LOCAL_FUNCTION_KEY come from them.
  loadSettings(projectDir);
  const { routePrefix } = readHostConfig(projectDir);

  const host = await startLocalHost({ projectDir });

  const lines = ['', 'Functions:', ''];
  for (const fn of host.functions) {
    if (fn.type === 'http') {
      const url = `${host.url}/${joinRoutePrefix(routePrefix, fn.route ?? fn.name)}`;
      lines.push(`\t${fn.name}: [${(fn.methods ?? []).join(',')}] ${url}`, '');
    } else if (fn.type === 'timer') {
      lines.push(`\t${fn.name}: timerTrigger (${fn.schedule})`, '');
    } else {
      lines.push(`\t${fn.name}: ${fn.type}`, '');
    }
  }
  console.log(lines.join('\n'));
  console.log(`Functions host listening on ${host.url}`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.log(`Received ${signal} again; exiting now.`);
      process.exit(1);
    }
    stopping = true;
    console.log(`Received ${signal}; stopping the Functions host...`);
    host.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('Error while stopping the Functions host:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`Functions host failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
