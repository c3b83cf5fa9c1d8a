import type { HttpRequest } from '@azure/functions';
import type { Runtime } from '../runtime.js';
import type { Session } from '../sessions/sessionStore.js';
import { loadRuntime } from './runtimeLoader.js';

/** The runtime and the caller's active session, for routes marked (S) in CONTRACT.md §5. */
export async function withSession(
  request: HttpRequest,
  options: { needsServiceNow?: boolean } = {},
): Promise<{ runtime: Runtime; session: Session }> {
  const runtime = await loadRuntime();
  const session = await runtime.sessions.authenticate(request.headers.get('authorization'), options);
  return { runtime, session };
}
