/**
 * The whole local stack in one call: Azurite (Tables, child process), the Web PubSub and Key Vault
 * emulators, and the local Functions host running the app. `npm start`, the integration tests and
 * the benchmark all use it, so what the tests prove is what a newcomer runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../src/lib/core/clock.js';
import { configureRuntime, getRuntime, type Runtime } from '../src/lib/runtime.js';
import { startAzurite, type Azurite } from './azurite/azurite.js';
import { buildConsole } from './console/build.js';
import { startLocalHost, type LocalHost } from './host/localHost.js';
import { startChild } from './childProcess.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from './keyvault/emulator.js';
import { DEFAULT_ACCESS_KEY, startWebPubSubEmulator, type WebPubSubEmulator } from './webpubsub/emulator.js';

/** The repository root, whether this file runs from dev/ (tests) or dist/dev/ (npm start). */
function findProjectDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'flowquest-bridge') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('flowquest-bridge package.json not found above ' + import.meta.url);
    dir = parent;
  }
}

export const PROJECT_DIR = findProjectDir();

export interface StackPorts {
  host: number;
  azurite: number;
  webPubSub: number;
  keyVault: number;
}

export interface StackOptions {
  /** Ports; 0 = any free port (tests). */
  ports: StackPorts;
  /** Folder for Azurite's and the Key Vault emulator's state; omitted = in memory (tests). */
  stateDir?: string;
  /** The app's entry modules; default: package.json "main" (compiled JS). Tests pass the TypeScript sources. */
  appEntries?: string[];
  runTimers?: boolean;
  /**
   * Where the Web PubSub and Key Vault stand-ins run: in this process (tests: fast to start and to stop)
   * or as child processes of their compiled entries (`npm start`, the benchmark: their own event loops,
   * as separate services have).
   */
  emulators?: 'in-process' | 'child';
  clock?: Clock;
  /** Extra settings (they win over local.settings.json and the environment). */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Stack {
  readonly url: string;
  readonly functionKey: string;
  readonly settings: Record<string, string>;
  host: LocalHost;
  azurite: Azurite;
  webPubSub: WebPubSubEmulator;
  keyVault: KeyVaultEmulator;
  runtime(): Promise<Runtime>;
  /** Stops Azurite (a Tables outage) and starts it again on the same port. */
  stopAzurite(): Promise<void>;
  startAzurite(): Promise<void>;
  /** Stops the Web PubSub emulator (an outage) and starts it again on the same port. */
  stopWebPubSub(): Promise<void>;
  startWebPubSub(): Promise<void>;
  stopKeyVault(): Promise<void>;
  startKeyVault(): Promise<void>;
  close(): Promise<void>;
}

/** A free TCP port on loopback (Azurite needs a number up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

function childScript(name: string): string {
  const script = path.join(HERE, name, 'main.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: child-process emulators run from the build (npm run build).`);
  return script;
}

export async function webPubSubChild(port: number): Promise<WebPubSubEmulator> {
  const child = await startChild(childScript('webpubsub'), [], { WEBPUBSUB_EMULATOR_PORT: String(port) }, /listening on http/);
  const endpoint = /listening on (\S+)/.exec(child.readyLine)?.[1] ?? '';
  return {
    port: Number(new URL(endpoint).port),
    endpoint,
    connectionString: `Endpoint=${endpoint};AccessKey=${DEFAULT_ACCESS_KEY};Version=1.0;`,
    close: () => child.stop(),
  };
}

export async function keyVaultChild(port: number, dataFile: string | undefined): Promise<KeyVaultEmulator> {
  const child = await startChild(childScript('keyvault'), [], { KEY_VAULT_EMULATOR_PORT: String(port), KEY_VAULT_EMULATOR_DATA: dataFile ?? '' }, /listening on http/);
  const url = /listening on (\S+)/.exec(child.readyLine)?.[1] ?? '';
  return { port: Number(new URL(url).port), url, close: () => child.stop() };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const azuritePort = options.ports.azurite || (await freePort());
  const azuriteDir = options.stateDir ? path.join(options.stateDir, 'azurite') : undefined;
  const keyVaultFile = options.stateDir ? path.join(options.stateDir, 'keyvault.json') : undefined;

  let azurite = await startAzurite({ port: azuritePort, ...(azuriteDir ? { location: azuriteDir } : {}) });
  const child = options.emulators === 'child';
  const launchWebPubSub = (port: number) => (child ? webPubSubChild(port) : startWebPubSubEmulator({ port }));
  const launchKeyVault = (port: number) =>
    child ? keyVaultChild(port, keyVaultFile) : startKeyVaultEmulator({ port, ...(keyVaultFile ? { dataFile: keyVaultFile } : {}) });
  let webPubSub = await launchWebPubSub(options.ports.webPubSub);
  const webPubSubPort = webPubSub.port;
  let keyVault = await launchKeyVault(options.ports.keyVault);
  const keyVaultPort = keyVault.port;

  // The emulators' addresses are facts of this run: they override whatever local.settings.json says.
  const settings: Record<string, string> = {
    TABLES_CONNECTION_STRING: azurite.connectionString,
    KEY_VAULT_URL: keyVault.url,
    WEBPUBSUB_CONNECTION_STRING: webPubSub.connectionString,
    ...options.settings,
  };
  delete process.env.TABLES_ENDPOINT;
  delete process.env.WEBPUBSUB_ENDPOINT;
  Object.assign(process.env, settings);
  configureRuntime({ ...(options.clock ? { clock: options.clock } : {}), log });

  const host = await startLocalHost({
    projectDir: PROJECT_DIR,
    // The live console (dev/console), rebuilt on every start so it is never stale.
    staticRoutes: { '/console/': await buildConsole(PROJECT_DIR) },
    port: options.ports.host,
    runTimers: options.runTimers ?? true,
    log,
    ...(options.appEntries ? { appEntries: options.appEntries } : {}),
  });
  const functionKey = process.env.LOCAL_FUNCTION_KEY ?? '';

  return {
    url: host.url,
    functionKey,
    settings: { ...settings, LOCAL_FUNCTION_KEY: functionKey },
    host,
    get azurite() {
      return azurite;
    },
    get webPubSub() {
      return webPubSub;
    },
    get keyVault() {
      return keyVault;
    },
    runtime: getRuntime,
    stopAzurite: () => azurite.stop(),
    startAzurite: async () => {
      azurite = await startAzurite({ port: azuritePort, ...(azuriteDir ? { location: azuriteDir } : {}) });
    },
    stopWebPubSub: () => webPubSub.close(),
    startWebPubSub: async () => {
      webPubSub = await launchWebPubSub(webPubSubPort);
    },
    stopKeyVault: () => keyVault.close(),
    startKeyVault: async () => {
      keyVault = await launchKeyVault(keyVaultPort);
    },
    async close() {
      await host.close();
      await (await getRuntime().catch(() => undefined))?.delivery.flush();
      await Promise.allSettled([webPubSub.close(), keyVault.close(), azurite.stop()]);
    },
  };
}
