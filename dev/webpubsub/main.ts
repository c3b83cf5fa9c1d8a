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
import { portSetting, runUntilStopped } from '../serviceMain.js';
import { DEFAULT_PORT, startWebPubSubEmulator } from './emulator.js';

runUntilStopped('Web PubSub emulator', async () => {
  const emulator = await startWebPubSubEmulator({
    port: portSetting('WEBPUBSUB_EMULATOR_PORT', DEFAULT_PORT),
    host: process.env['WEBPUBSUB_EMULATOR_HOST'] || undefined,
    accessKey: process.env['WEBPUBSUB_EMULATOR_ACCESS_KEY'] || undefined,
    log: process.env['WEBPUBSUB_EMULATOR_LOG'] === '1' ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  process.stdout.write(`Web PubSub emulator listening on ${emulator.endpoint}\n`);
  return emulator;
});
