/**
 * Our stand-in for `@azure/functions-core`, the module the Azure Functions Node.js worker builds in.
 *
 * `@azure/functions` calls `require('@azure/functions-core')` lazily, at the first `app.*` registration
 * (src/utils/tryGetCoreApiLazy.ts), caches the answer for the life of the process and, when the require fails,
 * switches to "test mode" where registrations are silently dropped. So the module must be resolvable *before*
 * the app's first registration, and the object we hand out must stay the same for the whole process.
 *
 * The library is CommonJS (webpack bundle with `require("@azure/functions-core")` as an external), so patching
 * `Module._load` / `Module._resolveFilename` of `node:module` is enough on Node 20 and 22, whether our code is
 * loaded by plain Node or by vitest (which loads node_modules natively).
 */
import { createRequire } from 'node:module';
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  ProgrammingModel,
  RpcLogCategory,
  RpcLogLevel,
} from './coreTypes.js';

export const CORE_MODULE_ID = '@azure/functions-core';

/** Same contract as the worker's `Disposable` (types-core): `dispose()` runs the callback once. */
export class Disposable {
  #callOnDispose: (() => unknown) | undefined;

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  static from(...disposables: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => {
      for (const d of disposables) d.dispose();
    });
  }

  dispose(): unknown {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return fn?.();
  }
}

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
}

export interface CoreState {
  /** Registrations, in registration order. Keys are lower-cased: function names are case-insensitive in Azure. */
  readonly functions: Map<string, RegisteredFunction>;
  model: ProgrammingModel | undefined;
  readonly hooks: Map<string, Set<HookCallback>>;
  /** Shared between all hooks of the app (types-core `appHookData`). */
  readonly appHookData: Record<string, unknown>;
  /** Where `coreApi.log` (logs outside an invocation) goes; set by the running host. */
  systemLog: (level: RpcLogLevel, category: RpcLogCategory, message: string) => void;
  /**
   * Set while a host is running. Like the real worker, which answers "A function can only be registered
   * during app startup" once the host has indexed functions, we refuse registrations then.
   */
  locked: boolean;
  /** The running host (one per process), so a second `startLocalHost` can refuse clearly. */
  activeHost: unknown;
  readonly api: Record<string, unknown>;
  installed: boolean;
}

// Kept on globalThis under a registry symbol so that two copies of this module (e.g. one compiled in dist/
// and one transformed by vitest) still share the one registry the library's cached `require` points at.
const STATE_KEY = Symbol.for('flowquest.localFunctionsHost.core');

export function getCoreState(): CoreState {
  const g = globalThis as Record<symbol, CoreState | undefined>;
  let state = g[STATE_KEY];
  if (!state) {
    state = createState();
    g[STATE_KEY] = state;
  }
  return state;
}

function createState(): CoreState {
  const state: CoreState = {
    functions: new Map(),
    model: undefined,
    hooks: new Map(),
    appHookData: {},
    systemLog: (level, _category, message) => {
      if (level === 'warning' || level === 'error' || level === 'critical') console.warn(message);
    },
    locked: false,
    activeHost: undefined,
    api: {},
    installed: false,
  };

  const api = state.api;
  api.version = '0.0.0-flowquest-local';
  api.hostVersion = '4.0.0-flowquest-local';
  api.Disposable = Disposable;

  api.setProgrammingModel = (model: ProgrammingModel): void => {
    // types-core: "Only one programming model can be set. The last programming model registered will be used".
    state.model = model;
  };

  api.getProgrammingModel = (): ProgrammingModel | undefined => state.model;

  api.registerFunction = (metadata: FunctionMetadata, callback: FunctionCallback): Disposable => {
    if (state.locked) {
      throw new Error(
        `Function "${metadata?.name}" was registered after the local host started. ` +
          'Functions can only be registered while the app entry points load (as in Azure).',
      );
    }
    if (!metadata || typeof metadata.name !== 'string' || !metadata.bindings) {
      throw new Error('registerFunction: metadata with a name and bindings is required.');
    }
    if (typeof callback !== 'function') {
      throw new Error(`registerFunction: function "${metadata.name}" has no handler.`);
    }
    const key = metadata.name.toLowerCase();
    if (state.functions.has(key)) {
      throw new Error(`A function with the name "${metadata.name}" has already been registered.`);
    }
    const entry: RegisteredFunction = { metadata, callback };
    state.functions.set(key, entry);
    return new Disposable(() => {
      if (state.locked) throw new Error('Functions cannot be unregistered while the local host is running.');
      if (state.functions.get(key) === entry) state.functions.delete(key);
    });
  };

  api.registerHook = (hookName: string, callback: HookCallback): Disposable => {
    if (typeof callback !== 'function') throw new Error(`registerHook: "${hookName}" needs a callback.`);
    let set = state.hooks.get(hookName);
    if (!set) {
      set = new Set();
      state.hooks.set(hookName, set);
    }
    set.add(callback);
    return new Disposable(() => set.delete(callback));
  };

  api.log = (level: RpcLogLevel, category: RpcLogCategory, message: string): void => {
    state.systemLog(level, category, message);
  };

  return state;
}

interface ModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
}

/**
 * Make `require('@azure/functions-core')` return our API object, process-wide. Idempotent.
 * Must run before the app's first `app.*` call (see the header comment).
 */
export function installCoreModule(): CoreState {
  const state = getCoreState();
  if (state.installed) return state;

  const nodeRequire = createRequire(import.meta.url);
  const Module = nodeRequire('node:module') as ModuleInternals;

  const originalLoad = Module._load;
  Module._load = function patchedLoad(this: unknown, request: string, _parent: unknown, _isMain: boolean) {
    if (request === CORE_MODULE_ID) return state.api;
    // eslint-disable-next-line prefer-rest-params
    return originalLoad.apply(this, arguments as unknown as [string, unknown, boolean]);
  };

  // So `require.resolve('@azure/functions-core')` (and any resolve-before-load code path) succeeds too.
  const originalResolve = Module._resolveFilename;
  Module._resolveFilename = function patchedResolve(this: unknown, request: string, ...rest: unknown[]) {
    if (request === CORE_MODULE_ID) return CORE_MODULE_ID;
    return originalResolve.call(this, request, ...(rest as [unknown, boolean, unknown]));
  };

  state.installed = true;
  return state;
}

/** Run every registered hook of one kind in registration order, awaiting each (the worker's `executeHooks`). */
export async function executeHooks(hookName: string, context: Record<string, unknown>): Promise<void> {
  const hooks = getCoreState().hooks.get(hookName);
  if (!hooks) return;
  for (const hook of [...hooks]) {
    await hook(context);
  }
}
