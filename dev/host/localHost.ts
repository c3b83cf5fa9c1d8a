/**
 * A local stand-in for the Azure Functions host + Node.js worker, for `npm start` and tests where Core Tools
 * is not available. It runs the app's unmodified `app.http` / `app.timer` registrations:
 *
 * 1. settings: local.settings.json "Values" → process.env (environment wins), before the app is imported;
 * 2. `@azure/functions-core` is provided to the library (coreApi.ts), then the app entry points are imported,
 *    which makes `@azure/functions` call `setProgrammingModel` and `registerFunction` for every function;
 * 3. `getCapabilities` is called as the worker does (this also locks `app.setup`), appStart hooks run;
 * 4. HTTP functions are served under host.json's routePrefix; timers run on their NCRONTAB schedule.
 *
 * Every invocation goes through the library's own InvocationModel (invoke.ts), so requests and responses pass
 * the same converters as in Azure.
 *
 * One host per process: registrations are process-global (the library caches the core module). A second
 * `startLocalHost` while one is running throws. After `close()` a new host may be started in the same process;
 * it serves the registrations already made (ES modules are evaluated once, so importing the same entry
 * points again registers nothing new, and new entry points add their functions to the same app).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { executeHooks, getCoreState, installCoreModule } from './coreApi.js';
import type { ProgrammingModel } from './coreTypes.js';
import { indexFunctions, type FunctionInfo, type HostFunction } from './functions.js';
import { FunctionInvocationError, runInvocation, type InvocationResult } from './invoke.js';
import { HostLogger } from './logging.js';
import { parseTimerSchedule } from './ncrontab.js';
import { joinRoutePrefix } from './routes.js';
import { createDispatcher, DEFAULT_BODY_LIMIT } from './server.js';
import { loadSettings, readHostConfig, readLocalHttpPort, resolveAppEntries } from './settings.js';
import { createStaticFiles } from './staticFiles.js';
import { TimerRunner, type TimerInput } from './timers.js';

export { loadSettings } from './settings.js';

export interface LocalHostOptions {
  /** Directory with host.json, package.json, local.settings.json; default process.cwd(). */
  projectDir?: string;
  /** Absolute module paths to import; default: expand package.json "main" (a glob) in projectDir. */
  appEntries?: string[];
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default: setting PORT, else local.settings.json Host.LocalHttpPort, else 7071; 0 = ephemeral. */
  port?: number;
  /** Default true; tests pass false and use runFunction. */
  runTimers?: boolean;
  /** Sink for host + function logs (default console.log); one call per log line. */
  log?: (line: string) => void;
  /**
   * Local development pages, served before function routing (GET/HEAD only): URL prefix that starts and
   * ends with '/' → directory, e.g. `{ '/console/': 'dist/console' }`. See staticFiles.ts.
   */
  staticRoutes?: Record<string, string>;
}

export interface LocalHost {
  readonly url: string;
  readonly port: number;
  readonly functions: ReadonlyArray<FunctionInfo>;
  /** Invoke a (timer or other non-HTTP) function now, like POST /admin/functions/{name}. Rejects if it fails. */
  runFunction(name: string): Promise<void>;
  /** Stop timers, stop listening, wait for in-flight invocations. */
  close(): Promise<void>;
}

/** Key used for authLevel function/admin and the admin API (LOCAL_FUNCTION_KEY, or random per start). */
export const FUNCTION_KEY_SETTING = 'LOCAL_FUNCTION_KEY';

function resolvePort(options: LocalHostOptions, projectDir: string): number {
  if (options.port !== undefined) return options.port;
  const fromEnv = process.env.PORT;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`Setting PORT='${fromEnv}' is not a valid port.`);
    return n;
  }
  return readLocalHttpPort(projectDir) ?? 7071;
}

function resolveBodyLimit(): number {
  const raw = process.env.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_BODY_LIMIT;
}

async function importEntries(entries: string[]): Promise<void> {
  for (const entry of entries) {
    const file = resolve(entry);
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    } catch (err) {
      throw new Error(`Failed to load app entry point ${file}: ${(err as Error)?.message ?? String(err)}`, {
        cause: err,
      });
    }
  }
}

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const core = getCoreState();
  if (core.activeHost) {
    throw new Error(
      'A local Functions host is already running in this process. Registrations are process-global: ' +
        'call close() on it before starting another.',
    );
  }
  const claim = {};
  core.activeHost = claim;

  const projectDir = resolve(options.projectDir ?? process.cwd());
  const hostConfig = (() => {
    try {
      loadSettings(projectDir);
      return readHostConfig(projectDir);
    } catch (err) {
      core.activeHost = undefined;
      throw err;
    }
  })();
  const logger = new HostLogger(options.log ?? ((line) => console.log(line)), hostConfig.logLevels);
  const previousSystemLog = core.systemLog;
  core.systemLog = (level, _category, message) => logger.system(level, message);

  const timers = new Map<string, TimerRunner>();
  const inFlight = new Set<Promise<unknown>>();
  let server: Server | undefined;
  let appStarted = false;

  let restoreKey = (): void => {};
  const release = (): void => {
    restoreKey();
    core.locked = false;
    core.systemLog = previousSystemLog;
    if (core.activeHost === claim) core.activeHost = undefined;
  };

  try {
    installCoreModule();
    const entries = options.appEntries ?? resolveAppEntries(projectDir);
    await importEntries(entries);

    const model: ProgrammingModel | undefined = core.model;
    if (core.functions.size > 0 && !model) {
      throw new Error('Functions were registered but no programming model was set (setProgrammingModel).');
    }
    if (core.functions.size === 0) {
      logger.system(
        'warning',
        'No functions were registered. Check the app entry points, and that nothing used "@azure/functions" ' +
          'before the local host started (the library would then be in test mode).',
      );
    }

    // The worker asks the programming model for its capabilities after loading the app; this also locks
    // `app.setup()`. HTTP streaming (`app.setup({ enableHttpStream: true })`) answers with an HttpUri proxy
    // that this host does not drive.
    if (model?.getCapabilities) {
      const capabilities = await model.getCapabilities({});
      if (capabilities && typeof capabilities.HttpUri === 'string' && capabilities.HttpUri !== '') {
        throw new Error('app.setup({ enableHttpStream: true }) is not supported by the local Functions host.');
      }
    }
    core.locked = true;

    const { functions, routes } = indexFunctions(core.functions.values(), hostConfig.routePrefix, logger);
    const byName = new Map(functions.map((f) => [f.info.name.toLowerCase(), f]));

    const track = <T>(work: Promise<T>): Promise<T> => {
      inFlight.add(work);
      void work.then(
        () => inFlight.delete(work),
        () => inFlight.delete(work),
      );
      return work;
    };

    const invoke = (fn: HostFunction, args: Omit<Parameters<typeof runInvocation>[0], 'fn' | 'model' | 'logger' | 'directory'>) =>
      track(
        runInvocation({
          ...args,
          fn: fn.registration,
          model: model!,
          logger,
          directory: projectDir,
        }),
      );

    const invokeTimer = async (fn: HostFunction, input: TimerInput, reason: string): Promise<void> => {
      await invoke(fn, {
        inputData: [{ name: fn.triggerName, data: { json: JSON.stringify(input) } }],
        triggerMetadata: {},
        reason,
      });
    };

    /** Non-timer, non-HTTP triggers (queue, blob...) invoked by hand get the admin API's `input` string. */
    const invokeOther = async (fn: HostFunction, input: string | undefined): Promise<InvocationResult> =>
      invoke(fn, {
        inputData: [{ name: fn.triggerName, data: input === undefined ? undefined : { string: input } }],
        triggerMetadata: {},
        reason: 'This function was programmatically called via the host APIs.',
      });

    for (const fn of functions) {
      if (fn.info.type !== 'timer') continue;
      const runner: TimerRunner = new TimerRunner({
        name: fn.info.name,
        schedule: parseTimerSchedule(fn.info.schedule!),
        runOnStartup: fn.trigger.runOnStartup === true,
        invoke: (input, manual) =>
          invokeTimer(
            fn,
            input,
            manual ? 'This function was programmatically called via the host APIs.' : `Timer fired at ${new Date().toISOString()}`,
          ),
        onEvent: (message) => logger.function(fn.info.name, 'warning', message),
      });
      timers.set(fn.info.name.toLowerCase(), runner);
    }

    const runManually = (fn: HostFunction, input?: string): Promise<void> => {
      const timer = timers.get(fn.info.name.toLowerCase());
      if (timer) return timer.runNow();
      return invokeOther(fn, input).then(() => undefined);
    };

    // Keys: authLevel function and admin both accept the one local key. A generated key is also published in
    // process.env for the host's lifetime, so code in this process (test stacks, scripts) can read it.
    let functionKey = process.env[FUNCTION_KEY_SETTING];
    if (!functionKey) {
      functionKey = randomBytes(24).toString('base64url');
      const previous = process.env[FUNCTION_KEY_SETTING];
      process.env[FUNCTION_KEY_SETTING] = functionKey;
      restoreKey = () => {
        if (previous === undefined) delete process.env[FUNCTION_KEY_SETTING];
        else process.env[FUNCTION_KEY_SETTING] = previous;
      };
      logger.host(`${FUNCTION_KEY_SETTING} is not set; generated function key for this run: ${functionKey}`);
    }

    // appStart hooks run once the app is loaded, before traffic (the worker runs them after loading entry points).
    appStarted = true;
    await executeHooks('appStart', { hookData: {}, appHookData: core.appHookData, functionAppDirectory: projectDir });

    const listenHost = options.host ?? '127.0.0.1';
    const port = resolvePort(options, projectDir);
    let boundPort = port;
    const hostForUrl = (): string => (listenHost.includes(':') ? `[${listenHost}]` : listenHost) + `:${boundPort}`;

    const dispatcher = createDispatcher(
      {
        routes,
        functionKey,
        bodyLimit: resolveBodyLimit(),
        logger,
        invokeHttp: ({ fn, inputData, triggerMetadata, traceContext }) =>
          invoke(fn, {
            inputData,
            triggerMetadata,
            traceContext,
            reason: 'This function was programmatically called via the host APIs.',
          }),
        runAdmin: (name, input) => {
          const fn = byName.get(name.toLowerCase());
          if (!fn) return 'unknown';
          if (fn.info.type === 'http') return 'http';
          void runManually(fn, input).catch(() => undefined); // failure already logged by runInvocation
          return 'started';
        },
        track,
      },
      hostForUrl,
    );

    const serveStatic = options.staticRoutes
      ? createStaticFiles(options.staticRoutes, track, (message) => logger.system('error', message))
      : undefined;
    server = createServer((req, res) => {
      if (!serveStatic?.(req, res)) dispatcher(req, res);
    });
    const listening = server;
    await new Promise<void>((resolveListen, rejectListen) => {
      const onError = (err: Error): void => rejectListen(err);
      listening.once('error', onError);
      listening.listen(port, listenHost, () => {
        listening.off('error', onError);
        resolveListen();
      });
    });
    boundPort = (listening.address() as AddressInfo).port;
    listening.on('error', (err) => logger.system('error', `HTTP server error: ${err.message}`));

    if (options.runTimers ?? true) {
      if (process.env.WEBSITE_TIME_ZONE) {
        logger.system('warning', 'WEBSITE_TIME_ZONE is not supported by the local host; timer schedules use UTC.');
      }
      for (const timer of timers.values()) timer.start();
    }

    const url = `http://${hostForUrl()}`;
    const info = functions.map((f) => {
      const copy: FunctionInfo = { ...f.info };
      if (f.info.methods) copy.methods = [...f.info.methods];
      return Object.freeze(copy);
    });

    let closing: Promise<void> | undefined;
    const host: LocalHost = {
      url,
      port: boundPort,
      functions: Object.freeze(info),
      runFunction: async (name: string) => {
        if (closing) throw new Error('The local host is closed.');
        const fn = byName.get(name.toLowerCase());
        if (!fn) throw new Error(`No function named '${name}' is loaded.`);
        if (fn.info.type === 'http') {
          throw new Error(`Function '${fn.info.name}' is HTTP-triggered; call it at ${url}/${joinRoutePrefix(hostConfig.routePrefix, fn.info.route ?? '')}.`);
        }
        try {
          await runManually(fn);
        } catch (err) {
          throw err instanceof FunctionInvocationError ? (err.cause instanceof Error ? err.cause : err) : err;
        }
      },
      close: () => {
        closing ??= (async () => {
          const srv = listening;
          const stopped = new Promise<void>((r) => srv.close(() => r()));
          srv.closeIdleConnections();
          await Promise.all([...timers.values()].map((t) => t.stop()));
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          srv.closeAllConnections();
          await stopped;
          try {
            await executeHooks('appTerminate', { hookData: {}, appHookData: core.appHookData });
          } catch (err) {
            logger.system('error', `appTerminate hook failed: ${(err as Error)?.message ?? String(err)}`);
          }
          release();
        })();
        return closing;
      },
    };
    return host;
  } catch (err) {
    for (const timer of timers.values()) await timer.stop();
    if (server?.listening) await new Promise<void>((r) => server!.close(() => r()));
    if (appStarted) {
      await executeHooks('appTerminate', { hookData: {}, appHookData: core.appHookData }).catch(() => undefined);
    }
    release();
    throw err;
  }
}
