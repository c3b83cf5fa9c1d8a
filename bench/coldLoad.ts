/**
 * What a Functions worker does at cold start, and nothing else: provide `@azure/functions-core`, import
 * every function file of package.json "main", and count the registrations. Run as its own process by
 * the benchmark and timed against `node -e ""`.
 */
import Module from 'node:module';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let registered = 0;
const core = {
  version: 'bench',
  hostVersion: 'bench',
  setProgrammingModel: () => undefined,
  getProgrammingModel: () => undefined,
  registerFunction: () => {
    registered++;
    return { dispose: () => undefined };
  },
  registerHook: () => ({ dispose: () => undefined }),
  log: () => undefined,
};
const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const original = loader._load;
loader._load = function (request: string, ...rest: unknown[]) {
  return request === '@azure/functions-core' ? core : original.call(this, request, ...rest);
};

const functionsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/functions');
for (const file of readdirSync(functionsDir).filter((f) => f.endsWith('.js'))) {
  await import(pathToFileURL(path.join(functionsDir, file)).href);
}
if (process.argv.includes('--print')) console.log(registered);
