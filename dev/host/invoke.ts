/**
 * One function invocation, driven exactly like the Node.js worker's InvocationHandler does it:
 *
 *   model.getInvocationModel(coreCtx) → getArguments() → preInvocation hooks → invokeFunction(context, inputs,
 *   callback) → postInvocation hooks → (rethrow the error if any) → getResponse(context, result)
 *
 * so inputs and outputs go through the library's own converters (`fromRpcTypedData` → HttpRequest,
 * `toRpcHttp`, `toCamelCaseValue` for timers...). `coreCtx.state` is set around the hook and invocation phases
 * because the library uses it to warn about logs after the function returned.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { executeHooks, getCoreState, type RegisteredFunction } from './coreApi.js';
import type {
  CoreInvocationContext,
  FunctionCallback,
  ProgrammingModel,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
  RpcParameterBinding,
  RpcTraceContext,
  RpcTypedData,
} from './coreTypes.js';
import type { HostLogger } from './logging.js';

export interface InvocationRequest {
  fn: RegisteredFunction;
  model: ProgrammingModel;
  inputData: RpcParameterBinding[];
  triggerMetadata?: Record<string, RpcTypedData>;
  traceContext?: RpcTraceContext;
  /** Why it runs, for the "Executing" line (the host's Reason=...). */
  reason: string;
  logger: HostLogger;
  /** Function app directory (RpcFunctionMetadata.directory). */
  directory: string;
}

export interface InvocationResult {
  invocationId: string;
  response: RpcInvocationResponse;
}

/** Error raised when the function (or a hook) failed; `cause` is what was thrown. */
export class FunctionInvocationError extends Error {
  override name = 'FunctionInvocationError';
  constructor(
    readonly functionName: string,
    readonly invocationId: string,
    cause: unknown,
  ) {
    super(`Function '${functionName}' failed (invocation ${invocationId}): ${describeError(cause)}`, { cause });
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** A W3C traceparent for the invocation, continuing the caller's trace id when one was sent. */
export function createTraceContext(incomingTraceParent?: string, traceState?: string): RpcTraceContext {
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(incomingTraceParent?.trim() ?? '');
  const traceId = m && !/^0+$/.test(m[1]!) ? m[1]! : randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceParent: `00-${traceId}-${spanId}-01`, traceState: traceState ?? '', attributes: {} };
}

function readOnly(name: string): never {
  throw new TypeError(`Cannot assign to read only property '${name}'`);
}

/**
 * The context object of a pre- or post-invocation hook: `hookData`, `appHookData` and
 * `invocationContext` are read-only (assigning them throws, as in the worker); `fields` are writable.
 */
function hookContext(hookData: Record<string, unknown>, context: unknown, fields: Record<string, unknown>): Record<string, unknown> {
  const readOnlyField = (name: string, get: () => unknown): PropertyDescriptor => ({
    get,
    set: () => readOnly(name),
    enumerable: true,
  });
  return Object.defineProperties(fields, {
    hookData: readOnlyField('hookData', () => hookData),
    appHookData: readOnlyField('appHookData', () => getCoreState().appHookData),
    invocationContext: readOnlyField('invocationContext', () => context),
  });
}

export async function runInvocation(req: InvocationRequest): Promise<InvocationResult> {
  const { fn, model, logger } = req;
  const name = fn.metadata.name;
  const invocationId = randomUUID();
  const core = getCoreState();
  const hookData: Record<string, unknown> = {};
  let invocationContext: unknown;
  let inLogHook = false;

  const log = (level: RpcLogLevel, category: RpcLogCategory, message: string): void => {
    let finalLevel = level;
    let finalMessage = message;
    const logHooks = core.hooks.get('log');
    if (logHooks && logHooks.size > 0 && !inLogHook) {
      // types-core LogHookContext: hooks may change level/message, which only affects user logs.
      const hookContext: Record<string, unknown> = {
        get hookData() {
          return hookData;
        },
        get appHookData() {
          return core.appHookData;
        },
        get invocationContext() {
          return invocationContext;
        },
        get category() {
          return category;
        },
        level,
        message,
      };
      inLogHook = true;
      try {
        for (const hook of [...logHooks]) hook(hookContext);
      } catch (err) {
        logger.system('error', `A log hook threw: ${describeError(err)}`, name);
      } finally {
        inLogHook = false;
      }
      if (category === 'user') {
        finalLevel = hookContext.level as RpcLogLevel;
        finalMessage = String(hookContext.message);
      }
    }
    if (category === 'user') logger.user(name, finalLevel, finalMessage);
    else if (category === 'system') logger.system(finalLevel, finalMessage, name);
    // 'customMetric' has no meaning without Application Insights.
  };

  const coreCtx: CoreInvocationContext = {
    invocationId,
    request: {
      invocationId,
      functionId: fn.metadata.functionId ?? name,
      inputData: req.inputData,
      triggerMetadata: req.triggerMetadata ?? {},
      traceContext: req.traceContext ?? createTraceContext(),
    },
    metadata: {
      name,
      functionId: fn.metadata.functionId ?? name,
      directory: req.directory,
      bindings: fn.metadata.bindings,
      retryOptions: fn.metadata.retryOptions,
    },
    state: undefined,
    log,
  };

  const started = performance.now();
  logger.function(name, 'information', `Executing 'Functions.${name}' (Reason='${req.reason}', Id=${invocationId})`);

  try {
    const invocationModel = await model.getInvocationModel(coreCtx);
    const args = await invocationModel.getArguments();
    const context = args.context;
    let inputs = args.inputs;
    let callback: FunctionCallback = fn.callback;
    invocationContext = context;

    const preContext = hookContext(hookData, context, { functionCallback: callback, inputs });
    coreCtx.state = 'preInvocationHooks';
    try {
      await executeHooks('preInvocation', preContext);
    } finally {
      coreCtx.state = undefined;
    }
    inputs = preContext.inputs as unknown[];
    callback = preContext.functionCallback as FunctionCallback;

    const postContext = hookContext(hookData, context, { inputs, result: null, error: null });

    coreCtx.state = 'invocation';
    try {
      postContext.result = await invocationModel.invokeFunction(context, inputs, callback);
    } catch (err) {
      postContext.error = err;
    } finally {
      coreCtx.state = undefined;
    }

    coreCtx.state = 'postInvocationHooks';
    try {
      await executeHooks('postInvocation', postContext);
    } finally {
      coreCtx.state = undefined;
    }

    // The worker treats anything thrown (not only Error instances) as a failure.
    if (postContext.error !== null && postContext.error !== undefined) throw postContext.error;

    const response = await invocationModel.getResponse(context, postContext.result);
    const duration = Math.round(performance.now() - started);
    logger.function(name, 'information', `Executed 'Functions.${name}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)`);
    return { invocationId, response };
  } catch (err) {
    const duration = Math.round(performance.now() - started);
    logger.function(name, 'error', `Executed 'Functions.${name}' (Failed, Id=${invocationId}, Duration=${duration}ms)`);
    const detail = err instanceof Error ? (err.stack ?? err.message) : describeError(err);
    logger.function(name, 'error', `Exception while executing function: Functions.${name}. ${detail}`);
    throw new FunctionInvocationError(name, invocationId, err);
  }
}
