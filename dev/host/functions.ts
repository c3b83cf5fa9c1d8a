/**
 * Turn the registrations received through `registerFunction(metadata, callback)` into what the host serves:
 * trigger kind, HTTP route/methods/auth level, timer schedule, and the HTTP output binding to read the response
 * from. Metadata shape: the library's converters/toCoreFunctionMetadata.ts (one trigger binding with
 * direction 'in' and the trigger options spread onto it, '$return' for the return value, extra inputs/outputs).
 */
import type { RegisteredFunction } from './coreApi.js';
import type { RpcBindingInfo } from './coreTypes.js';
import type { HostLogger } from './logging.js';
import { parseTimerSchedule } from './ncrontab.js';
import { joinRoutePrefix, RouteTable } from './routes.js';

/** Public description of a function (LocalHost.functions). */
export interface FunctionInfo {
  name: string;
  type: 'http' | 'timer' | string;
  route?: string;
  methods?: string[];
  authLevel?: string;
  schedule?: string;
}

export interface HostFunction {
  info: FunctionInfo;
  registration: RegisteredFunction;
  triggerName: string;
  trigger: RpcBindingInfo;
  /** Name of the `http` output binding ('$return' for the usual return value), if any. */
  httpOutputName?: string;
}

// Function names: letters, digits, '_' and '-', starting with a letter, at most 128 chars (host validation).
const FUNCTION_NAME_RE = /^[a-z][a-z0-9_-]{0,127}$/i;

export function isHttpTrigger(type: unknown): boolean {
  return typeof type === 'string' && type.toLowerCase() === 'httptrigger';
}

export function isTimerTrigger(type: unknown): boolean {
  return typeof type === 'string' && type.toLowerCase() === 'timertrigger';
}

/** Resolve `%AppSetting%` binding expressions from app settings (the host does this for trigger options). */
export function resolveAppSettingExpressions(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (whole, name: string) => {
    const resolved = env[name];
    if (resolved === undefined) throw new Error(`App setting '${name}' referenced by '${value}' is not defined.`);
    return resolved;
  });
}

/** `AzureWebJobs.<name>.Disabled` = true/1 disables a function (https://learn.microsoft.com/azure/azure-functions/disable-function). */
export function isFunctionDisabled(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const wanted = [`azurewebjobs.${name}.disabled`, `azurewebjobs_${name}_disabled`].map((k) => k.toLowerCase());
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && wanted.includes(key.toLowerCase())) {
      return value.trim().toLowerCase() === 'true' || value.trim() === '1';
    }
  }
  return false;
}

/** Build the host's view of one registration. Throws with a clear message when it cannot be served. */
export function describeFunction(registration: RegisteredFunction, env: NodeJS.ProcessEnv = process.env): HostFunction {
  const { name, bindings } = registration.metadata;
  if (!FUNCTION_NAME_RE.test(name)) {
    throw new Error(`'${name}' is not a valid function name (letters, digits, '_' or '-', starting with a letter).`);
  }
  const triggers = Object.entries(bindings).filter(
    ([, b]) => b.direction === 'in' && typeof b.type === 'string' && /trigger$/i.test(b.type),
  );
  if (triggers.length !== 1) throw new Error(`Function '${name}' must have exactly one trigger binding.`);
  const [triggerName, trigger] = triggers[0]!;
  const type = String(trigger.type);

  const httpOutputs = Object.entries(bindings).filter(
    ([, b]) => b.direction === 'out' && typeof b.type === 'string' && b.type.toLowerCase() === 'http',
  );

  const hostFunction: HostFunction = {
    info: { name, type },
    registration,
    triggerName,
    trigger,
    httpOutputName: httpOutputs[0]?.[0],
  };

  if (isHttpTrigger(type)) {
    const route = typeof trigger.route === 'string' && trigger.route.trim() !== '' ? trigger.route : name;
    const methods = Array.isArray(trigger.methods) && trigger.methods.length > 0
      ? trigger.methods.map((m) => String(m).toUpperCase())
      : ['GET', 'POST']; // the library's default (trigger.http), also the host's "any of GET/POST"
    hostFunction.info = {
      name,
      type: 'http',
      route: resolveAppSettingExpressions(route, env).replace(/^\/+|\/+$/g, ''),
      methods,
      authLevel: typeof trigger.authLevel === 'string' ? trigger.authLevel.toLowerCase() : 'anonymous',
    };
  } else if (isTimerTrigger(type)) {
    if (typeof trigger.schedule !== 'string' || trigger.schedule.trim() === '') {
      throw new Error(`Timer function '${name}' has no schedule.`);
    }
    hostFunction.info = { name, type: 'timer', schedule: resolveAppSettingExpressions(trigger.schedule.trim(), env) };
  }
  return hostFunction;
}

/** Names of bindings this host cannot provide (anything but the trigger and HTTP/return outputs). */
export function unsupportedBindings(fn: HostFunction): string[] {
  const out: string[] = [];
  for (const [bindingName, b] of Object.entries(fn.registration.metadata.bindings)) {
    if (bindingName === fn.triggerName) continue;
    const type = String(b.type ?? '').toLowerCase();
    if (b.direction === 'out' && type === 'http') continue;
    out.push(`${bindingName} (${b.type ?? 'unknown'}, ${b.direction ?? '?'})`);
  }
  return out;
}

export interface FunctionIndex {
  functions: HostFunction[];
  routes: RouteTable<HostFunction>;
}

/**
 * Index all registrations the way the host indexes functions at startup: a function that cannot be served
 * (invalid name, bad route template or schedule, route colliding with the built-in admin API) is reported and
 * skipped, the others still load; disabled functions are skipped.
 */
export function indexFunctions(
  registrations: Iterable<RegisteredFunction>,
  routePrefix: string,
  logger: HostLogger,
  env: NodeJS.ProcessEnv = process.env,
): FunctionIndex {
  const functions: HostFunction[] = [];
  const routes = new RouteTable<HostFunction>();
  for (const registration of registrations) {
    const name = registration.metadata.name;
    const notLoaded = (reason: string): void => logger.system('error', `Function '${name}' was not loaded: ${reason}`);
    let fn: HostFunction;
    try {
      fn = describeFunction(registration, env);
    } catch (err) {
      notLoaded((err as Error).message);
      continue;
    }
    if (isFunctionDisabled(name, env)) {
      logger.host(`Function '${name}' is disabled (AzureWebJobs.${name}.Disabled).`);
      continue;
    }
    if (fn.info.type === 'http') {
      const route = fn.info.route ?? name;
      if (/^admin(\/|$)/i.test(route)) {
        notLoaded(`the route '${route}' conflicts with one or more built-in routes.`);
        continue;
      }
      try {
        routes.add(joinRoutePrefix(routePrefix, route), fn.info.methods ?? [], fn);
      } catch (err) {
        notLoaded((err as Error).message);
        continue;
      }
    } else if (fn.info.type === 'timer') {
      try {
        parseTimerSchedule(fn.info.schedule!);
      } catch (err) {
        notLoaded((err as Error).message);
        continue;
      }
    }
    if (registration.metadata.retryOptions) {
      logger.system('warning', `Function '${name}': retry policies are not applied by the local host.`);
    }
    const unsupported = unsupportedBindings(fn);
    if (unsupported.length > 0) {
      logger.system('warning', `Function '${name}': bindings not provided by the local host: ${unsupported.join(', ')}.`);
    }
    functions.push(fn);
  }
  return { functions, routes };
}
