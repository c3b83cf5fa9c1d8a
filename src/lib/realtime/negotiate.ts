import type { Clock } from '../core/clock.js';
import { DependencyError, ProblemError } from '../core/errors.js';
import { TtlCache } from '../core/ttlCache.js';
import type { InstanceService } from '../instances/instanceService.js';
import type { PreferenceStore } from '../preferences/preferenceStore.js';
import { UpstreamError, type ServiceNowClient } from '../servicenow/serviceNowClient.js';
import type { Session } from '../sessions/sessionStore.js';
import type { TokenBroker } from '../sessions/tokenBroker.js';

/** Mints a Web PubSub client URL: with an access key the SDK signs it; with Entra ID the service does. */
export interface ClientUrlMinter {
  mint(userId: string, groups: string[], minutes: number): Promise<string>;
}

export interface NegotiateDeps {
  instances: InstanceService;
  broker: TokenBroker;
  serviceNow: ServiceNowClient;
  preferences: PreferenceStore;
  minter: ClientUrlMinter;
  clock: Clock;
  groupsCacheTtlMs: number;
}

export const CLIENT_TOKEN_MINUTES = 60;

/**
 * CONTRACT.md §5 negotiate: a client URL for `{instanceId}:{userSysId}`, joined at connect to the
 * user's ServiceNow groups and, when the preferences allow, `{instanceId}:critical`. The token carries
 * no role, so the client can neither send nor join other groups.
 */
export class Negotiator {
  private readonly groups: TtlCache<string, string[]>;

  constructor(private readonly deps: NegotiateDeps) {
    this.groups = new TtlCache(deps.groupsCacheTtlMs, deps.clock);
  }

  private async serviceNowGroups(session: Session): Promise<string[]> {
    return this.groups.get(`${session.instanceId}:${session.userSysId}`, async () => {
      const instance = await this.deps.instances.find(session.instanceId);
      if (!instance) throw new ProblemError('SESSION_INVALID', 'The ServiceNow instance of this session no longer exists.');
      const { accessToken } = await this.deps.broker.accessToken(session);
      try {
        return await this.deps.serviceNow.groupsOf(instance.baseUrl, accessToken, session.userSysId);
      } catch (error) {
        if (error instanceof UpstreamError) {
          throw new ProblemError('UPSTREAM_UNAVAILABLE', 'ServiceNow did not list the user\'s groups; retry later.', { retryAfter: error.retryAfter ?? 5 });
        }
        throw error;
      }
    });
  }

  async negotiate(session: Session) {
    const userId = `${session.instanceId}:${session.userSysId}`;
    const [groupIds, prefs] = await Promise.all([
      this.serviceNowGroups(session),
      this.deps.preferences.get(session.instanceId, session.userSysId),
    ]);
    const groups = groupIds.map((g) => `${session.instanceId}:group:${g}`);
    if (prefs.criticalIncidents) groups.push(`${session.instanceId}:critical`);
    // With Entra ID the service mints the token: its failure is Web PubSub's, not the caller's.
    const url = await this.deps.minter.mint(userId, groups, CLIENT_TOKEN_MINUTES).catch((error: unknown) => {
      throw new DependencyError('webPubSub', 'mint a client token', error);
    });
    return { url, userId, groups, expiresAt: this.deps.clock.now() + CLIENT_TOKEN_MINUTES * 60_000 };
  }
}
