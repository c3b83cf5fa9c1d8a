/**
 * Standalone entry: `node dist/dev/webpubsub/main.js` after `npm run build`.
 *
 * Environment:
 *   WEBPUBSUB_EMULATOR_PORT        default 8080
 *   WEBPUBSUB_EMULATOR_HOST        default localhost (127.0.0.1 and ::1)
 *   WEBPUBSUB_EMULATOR_ACCESS_KEY  default: the well-known local-emulator key
 *   WEBPUBSUB_EMULATOR_LOG=1       log requests and connections to stderr
 * Prints exactly one line on stdout once listening, and exits cleanly on SIGINT/SIGTERM.
 */
import { startWebPubSubEmulator } from './emulator.js';

function parsePort(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return 8080;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`WEBPUBSUB_EMULATOR_PORT must be an integer 0-65535, got '${text}'.`);
  }
  return port;
}

async function main(): Promise<void> {
  const emulator = await startWebPubSubEmulator({
    port: parsePort(process.env['WEBPUBSUB_EMULATOR_PORT']),
    host: process.env['WEBPUBSUB_EMULATOR_HOST'] || undefined,
    accessKey: process.env['WEBPUBSUB_EMULATOR_ACCESS_KEY'] || undefined,
    log: process.env['WEBPUBSUB_EMULATOR_LOG'] === '1' ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  process.stdout.write(`Web PubSub emulator listening on ${emulator.endpoint}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // If something keeps the loop alive after close(), do not hang the terminal.
    setTimeout(() => process.exit(0), 3000).unref();
    emulator.close().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        process.stderr.write(`Error while stopping the emulator: ${(error as Error).message}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`Web PubSub emulator failed to start: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
