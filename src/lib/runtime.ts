/**
 * The composition root: builds every service from the settings, once per process, and hands the
 * function files what they need. SDKs are imported here, lazily, so that registering the functions at
 * cold start costs no SDK load; the first invocation pays it.
 */
import { systemClock, type Clock } from './core/clock.js';
import { DependencyError } from './core/errors.js';
import { RateLimiter } from './core/rateLimiter.js';
import { createKeyVaultSecretStore, type SecretStore } from './azure/secretStore.js';
import { createWebPubSubServiceClient } from './azure/webPubSubClient.js';
import { createWebPubSubPublisher } from './azure/webPubSubPublisher.js';
import { DeadLetterStore } from './delivery/deadLetterStore.js';
import { Delivery } from './delivery/delivery.js';
import { EventStore } from './delivery/eventStore.js';
import type { Publisher } from './delivery/types.js';
import { checkHealth, type HealthReport } from './health/checkHealth.js';
import { InstanceService } from './instances/instanceService.js';
import { InstanceStore } from './instances/instanceStore.js';
import { PreferenceStore } from './preferences/preferenceStore.js';
import { isLoopbackHttp, readSettings, type Settings } from './settings.js';
import { TABLE_NAMES, type Tables } from './storage/tables.js';
import { statusOf } from './storage/tableCall.js';
import { WebhookReceiver } from './webhooks/receiveWebhook.js';
import { AuditLog } from './audit/auditLog.js';
import { Negotiator } from './realtime/negotiate.js';
import { ServiceNowClient } from './servicenow/serviceNowClient.js';
import { SessionKeys } from './sessions/sessionKeys.js';
import { SessionService } from './sessions/sessionService.js';
import { SessionStore } from './sessions/sessionStore.js';
import { leaseFor, TokenBroker } from './sessions/tokenBroker.js';

export interface Runtime {
  settings: Settings;
  clock: Clock;
  fetch: typeof fetch;
  log: (message: string) => void;
  tables: Tables;
  secrets: SecretStore;
  publisher: Publisher;
  instances: InstanceService;
  events: EventStore;
  deadLetters: DeadLetterStore;
  preferences: PreferenceStore;
  delivery: Delivery;
  webhooks: WebhookReceiver;
  rateLimiter: RateLimiter;
  audit: AuditLog;
  sessions: SessionService;
  sessionStore: SessionStore;
  sessionKeys: SessionKeys;
  serviceNow: ServiceNowClient;
  broker: TokenBroker;
  negotiator: Negotiator;
  /** Creates the tables on first use (idempotent; retried after a failure). */
  ready(): Promise<void>;
  health(): Promise<HealthReport>;
}

/** What a host or a test may replace: the clock, fetch, the log sink and the environment. */
export interface RuntimeOverrides {
  clock?: Clock;
  fetch?: typeof fetch;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

let overrides: RuntimeOverrides = {};
let current: Promise<Runtime> | undefined;

/** For local hosts, benchmarks and tests: must be called before the first invocation. */
export function configureRuntime(next: RuntimeOverrides): void {
  overrides = next;
  current = undefined;
}

export function getRuntime(): Promise<Runtime> {
  current ??= createRuntime(overrides).catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
}

async function createTables(settings: Settings): Promise<Tables> {
  const { TableClient } = await import('@azure/data-tables');
  // Fail fast: the outbox and ServiceNow's own retries cover a failed request, a slow one helps nobody.
  const options = { retryOptions: { maxRetries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 1_000 } };
  const make = async (name: string) => {
    const table = `${settings.TABLE_PREFIX}${name}`;
    if (settings.TABLES_CONNECTION_STRING) {
      const insecure = /TableEndpoint=http:|UseDevelopmentStorage=true/i.test(settings.TABLES_CONNECTION_STRING);
      return TableClient.fromConnectionString(settings.TABLES_CONNECTION_STRING, table, { ...options, allowInsecureConnection: insecure });
    }
    const credential = await azureCredential(settings);
    return new TableClient(settings.TABLES_ENDPOINT ?? '', table, credential, options);
  };
  const [instances, events, deadLetters, preferences, sessions, audit] = await Promise.all([
    make(TABLE_NAMES.instances),
    make(TABLE_NAMES.events),
    make(TABLE_NAMES.deadLetters),
    make(TABLE_NAMES.preferences),
    make(TABLE_NAMES.sessions),
    make(TABLE_NAMES.audit),
  ]);
  return { instances, events, deadLetters, preferences, sessions, audit };
}

let credential: Promise<import('@azure/identity').TokenCredential> | undefined;
function azureCredential(settings: Settings) {
  credential ??= import('@azure/identity').then(
    ({ DefaultAzureCredential }) =>
      new DefaultAzureCredential(settings.AZURE_CLIENT_ID ? { managedIdentityClientId: settings.AZURE_CLIENT_ID } : {}),
  );
  return credential;
}

async function createSecretClient(settings: Settings) {
  const { SecretClient } = await import('@azure/keyvault-secrets');
  const retryOptions = { maxRetries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 1_000 };
  if (isLoopbackHttp(settings.KEY_VAULT_URL)) {
    // Only the local emulator: plain http and a resource name that is not a *.vault.azure.net host.
    const { LocalDevCredential } = await import('./azure/localDevCredential.js');
    return new SecretClient(settings.KEY_VAULT_URL, new LocalDevCredential(), {
      allowInsecureConnection: true,
      disableChallengeResourceVerification: true,
      retryOptions,
    });
  }
  return new SecretClient(settings.KEY_VAULT_URL, await azureCredential(settings), { retryOptions });
}

async function createRuntime(o: RuntimeOverrides): Promise<Runtime> {
  const settings = readSettings(o.env ?? process.env);
  const clock = o.clock ?? systemClock;
  const log = o.log ?? ((message: string) => console.log(message));
  const [tables, secretClient, webPubSub] = await Promise.all([
    createTables(settings),
    createSecretClient(settings),
    createWebPubSubServiceClient({
      hub: settings.WEBPUBSUB_HUB,
      ...(settings.WEBPUBSUB_CONNECTION_STRING ? { connectionString: settings.WEBPUBSUB_CONNECTION_STRING } : {}),
      ...(settings.WEBPUBSUB_ENDPOINT ? { endpoint: settings.WEBPUBSUB_ENDPOINT, credential: () => azureCredential(settings) } : {}),
    }),
  ]);
  const secrets = createKeyVaultSecretStore(secretClient);
  const publisher = createWebPubSubPublisher(webPubSub);
  const events = new EventStore(tables.events);
  const deadLetters = new DeadLetterStore(tables.deadLetters);
  const preferences = new PreferenceStore(tables.preferences, clock, settings.PREFERENCES_CACHE_TTL_SECONDS * 1000);
  const rateLimiter = new RateLimiter(clock);
  const audit = new AuditLog(tables.audit, clock, log);
  const instances = new InstanceService({
    audit,
    store: new InstanceStore(tables.instances),
    secrets,
    clock,
    allowInsecureLoopback: settings.ALLOW_INSECURE_LOOPBACK,
    instanceCacheTtlMs: settings.INSTANCE_CACHE_TTL_SECONDS * 1000,
    secretCacheTtlMs: settings.SECRET_CACHE_TTL_SECONDS * 1000,
  });
  const delivery = new Delivery({ events, deadLetters, publisher, clock, sendTimeoutMs: settings.SEND_TIMEOUT_MS, log });
  const webhooks = new WebhookReceiver({ instances, events, delivery, preferences, rateLimiter, clock });
  const serviceNow = new ServiceNowClient({ fetch: o.fetch ?? fetch, timeoutMs: settings.UPSTREAM_TIMEOUT_MS });
  const keys = new SessionKeys(secrets, settings.SESSION_KEY_SECRET_NAME, () => clock.now());
  const sessionStore = new SessionStore(tables.sessions);
  const broker = new TokenBroker({
    sessions: sessionStore, keys, secrets, serviceNow, instances, audit, clock,
    leaseMs: leaseFor(settings.UPSTREAM_TIMEOUT_MS),
  });
  const sessions = new SessionService({
    sessions: sessionStore, keys, secrets, serviceNow, instances, broker, audit, rateLimiter, clock,
    signInLimitPerMinute: settings.SIGNIN_RATE_LIMIT_PER_MINUTE,
    tokenLimitPerMinute: settings.TOKEN_RATE_LIMIT_PER_MINUTE,
  });
  const negotiator = new Negotiator({
    instances, broker, serviceNow, preferences, clock,
    groupsCacheTtlMs: settings.GROUPS_CACHE_TTL_SECONDS * 1000,
    minter: {
      mint: async (userId, groups, minutes) =>
        (await webPubSub.getClientAccessToken({ userId, groups, roles: [], expirationTimeInMinutes: minutes })).url,
    },
  });

  let tablesReady: Promise<void> | undefined;
  const ready = () => {
    tablesReady ??= Promise.all(
      Object.values(tables).map((t) =>
        t.createTable().catch((error: unknown) => {
          if (statusOf(error) !== 409) throw error;
        }),
      ),
    )
      .then(() => undefined)
      .catch((error: unknown) => {
        tablesReady = undefined;
        throw new DependencyError('tables', 'create tables', error);
      });
    return tablesReady;
  };

  const health = () =>
    checkHealth({
      tables: async () => {
        await ready();
        await tables.instances.listEntities({ queryOptions: { filter: "PartitionKey eq 'health'" } }).next();
      },
      keyVault: () => secrets.get('health-probe'),
      webPubSub: () => webPubSub.groupExists('health-probe'),
    });

  return {
    settings, clock, fetch: o.fetch ?? fetch, log, tables, secrets, publisher, instances, events, deadLetters,
    preferences, delivery, webhooks, rateLimiter, audit, sessions, sessionStore, sessionKeys: keys, serviceNow, broker,
    negotiator, ready, health,
  };
}
