import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ProblemError } from '../core/errors.js';
import { TtlCache } from '../core/ttlCache.js';
import { parseOr422 } from '../core/validation.js';
import type { SecretStore } from '../azure/secretStore.js';
import type { AuditLog } from '../audit/auditLog.js';
import { webhookKey } from '../webhooks/verifySignature.js';
import { INSTANCE_ID, instanceBodySchema, normaliseBaseUrl, type Instance } from './instance.js';
import type { InstanceStore } from './instanceStore.js';

/** The previous webhook secret stays valid this long after a rotation (CONTRACT.md §4). */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export interface InstanceServiceOptions {
  store: InstanceStore;
  secrets: SecretStore;
  clock: Clock;
  allowInsecureLoopback: boolean;
  /** How long a Function instance trusts its copy of an instance's configuration. */
  instanceCacheTtlMs: number;
  /** How long a webhook secret version is used without asking Key Vault again. */
  secretCacheTtlMs: number;
  audit?: AuditLog;
}

export interface UpsertResult {
  created: boolean;
  instance: Instance;
  /** Only on create: the new webhook secret, shown once. */
  webhookSecret?: string;
}

function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function secretName(purpose: 'whsec' | 'snclient', instanceId: string): string {
  // A random suffix: with purge protection a deleted name stays taken for the retention period, and an
  // instance deleted and created again must not collide with its old, soft-deleted secret.
  return `${purpose}-${instanceId}-${randomBytes(4).toString('hex')}`;
}

export function assertInstanceId(id: string): void {
  if (!INSTANCE_ID.test(id)) {
    throw new ProblemError('INVALID_REQUEST', 'The instance id is not valid.', {
      errors: [{ path: 'instanceId', message: 'must match ^[a-z0-9][a-z0-9-]{1,62}$' }],
    });
  }
}

function stripEtag(instance: Instance & { etag?: string }): Instance {
  const { etag: _etag, ...rest } = instance;
  return rest;
}

export class InstanceService {
  private readonly cache: TtlCache<string, Instance | undefined>;
  private readonly keys: TtlCache<string, Buffer>;
  private readonly bodySchema;

  constructor(private readonly o: InstanceServiceOptions) {
    this.cache = new TtlCache(o.instanceCacheTtlMs, o.clock);
    this.keys = new TtlCache(o.secretCacheTtlMs, o.clock);
    this.bodySchema = instanceBodySchema(o.allowInsecureLoopback);
  }

  /** The instance, from this Function instance's cache when fresh; undefined when unknown. */
  async find(id: string): Promise<Instance | undefined> {
    if (!INSTANCE_ID.test(id)) return undefined;
    const found = await this.cache.get(id, async () => {
      const stored = await this.o.store.get(id);
      return stored && stripEtag(stored);
    });
    if (!found) this.cache.delete(id);
    return found;
  }

  async require(id: string): Promise<Instance> {
    const instance = await this.find(id);
    if (!instance) throw new ProblemError('UNKNOWN_INSTANCE', `No ServiceNow instance "${id}" is configured.`);
    return instance;
  }

  /**
   * The HMAC keys a webhook of this instance may be signed with: the current secret and, during a
   * rotation's overlap, the previous one. Versions never change, so a cached key is always right;
   * Key Vault is asked again only after the cache TTL, and if it is unreachable the cached key serves.
   * `complete` is false when a key could not be loaded at all (the caller must not call a signature
   * that matches none of the others invalid: it may be signed with the missing one).
   */
  async webhookKeys(instance: Instance): Promise<{ keys: Buffer[]; complete: boolean }> {
    const { name, version, previousVersion, previousValidUntil } = instance.webhookSecret;
    const versions = [version];
    if (previousVersion && previousValidUntil !== null && this.o.clock.now() < previousValidUntil) {
      versions.push(previousVersion);
    }
    const keys = await Promise.all(
      versions.map((v) =>
        this.keys.get(`${name}/${v}`, async () => {
          const secret = await this.o.secrets.get(name, v);
          if (!secret) throw new Error('webhook secret version missing');
          return webhookKey(secret.value);
        }).catch(() => undefined),
      ),
    );
    const usable = keys.filter((k): k is Buffer => k !== undefined);
    if (usable.length === 0) {
      // Neither a cached nor a fresh key: Key Vault is unreachable on a cold cache.
      throw new ProblemError('KEY_VAULT_UNAVAILABLE', 'The webhook secret cannot be read right now; retry later.', {
        retryAfter: 5,
      });
    }
    return { keys: usable, complete: usable.length === versions.length };
  }

  async list(): Promise<Instance[]> {
    return this.o.store.list();
  }

  async get(id: string): Promise<Instance> {
    assertInstanceId(id);
    const stored = await this.o.store.get(id);
    if (!stored) throw new ProblemError('UNKNOWN_INSTANCE', `No ServiceNow instance "${id}" is configured.`);
    return stripEtag(stored);
  }

  async upsert(id: string, body: unknown): Promise<UpsertResult> {
    assertInstanceId(id);
    const input = parseOr422(this.bodySchema, body, 'INVALID_REQUEST', 'The instance definition is invalid.');
    const now = this.o.clock.now();
    const existing = await this.o.store.get(id);
    if (!existing) {
      const webhookSecret = newWebhookSecret();
      const whName = secretName('whsec', id);
      const tags = { instanceId: id, purpose: 'webhook-secret' };
      const { version } = await this.o.secrets.set(whName, webhookSecret, { contentType: 'whsec', tags });
      let clientSecret: Instance['clientSecret'] = null;
      if (input.clientSecret) {
        const name = secretName('snclient', id);
        const written = await this.o.secrets.set(name, input.clientSecret, {
          contentType: 'oauth-client-secret',
          tags: { instanceId: id, purpose: 'oauth-client-secret' },
        });
        clientSecret = { name, version: written.version };
      }
      const instance: Instance = {
        id,
        name: input.name,
        baseUrl: normaliseBaseUrl(input.baseUrl),
        clientId: input.clientId,
        rules: input.rules ?? null,
        webhookRateLimitPerMinute: input.webhookRateLimitPerMinute ?? null,
        clientSecret,
        webhookSecret: { name: whName, version, previousVersion: null, previousValidUntil: null, rotatedAt: null },
        createdAt: now,
        updatedAt: now,
      };
      if (await this.o.store.create(instance)) {
        this.cache.delete(id);
        await this.o.audit?.record({ action: 'instance.create', instanceId: id, actor: 'operator', outcome: 'success' });
        return { created: true, instance, webhookSecret };
      }
      // Another request created it first: drop our secrets and update theirs instead.
      await Promise.all([this.o.secrets.delete(whName), clientSecret ? this.o.secrets.delete(clientSecret.name) : undefined]);
      return this.upsert(id, body);
    }

    const current = stripEtag(existing);
    let clientSecret = current.clientSecret;
    if (input.clientSecret === null && clientSecret) {
      await this.o.secrets.delete(clientSecret.name);
      clientSecret = null;
    } else if (input.clientSecret) {
      const name = clientSecret?.name ?? secretName('snclient', id);
      const written = await this.o.secrets.set(name, input.clientSecret, {
        contentType: 'oauth-client-secret',
        tags: { instanceId: id, purpose: 'oauth-client-secret' },
      });
      clientSecret = { name, version: written.version };
    }
    const instance: Instance = {
      ...current,
      name: input.name,
      baseUrl: normaliseBaseUrl(input.baseUrl),
      clientId: input.clientId,
      rules: input.rules === undefined ? current.rules : input.rules,
      webhookRateLimitPerMinute:
        input.webhookRateLimitPerMinute === undefined ? current.webhookRateLimitPerMinute : input.webhookRateLimitPerMinute,
      clientSecret,
      updatedAt: now,
    };
    await this.o.store.replace(instance, existing.etag);
    this.cache.delete(id);
    await this.o.audit?.record({ action: 'instance.update', instanceId: id, actor: 'operator', outcome: 'success' });
    return { created: false, instance };
  }

  async rotateWebhookSecret(id: string): Promise<{ webhookSecret: string; previousValidUntil: number }> {
    assertInstanceId(id);
    const existing = await this.o.store.get(id);
    if (!existing) throw new ProblemError('UNKNOWN_INSTANCE', `No ServiceNow instance "${id}" is configured.`);
    const current = stripEtag(existing);
    const webhookSecret = newWebhookSecret();
    const { version } = await this.o.secrets.set(current.webhookSecret.name, webhookSecret, {
      contentType: 'whsec',
      tags: { instanceId: id, purpose: 'webhook-secret' },
    });
    const now = this.o.clock.now();
    const previousValidUntil = now + ROTATION_OVERLAP_MS;
    const instance: Instance = {
      ...current,
      webhookSecret: {
        name: current.webhookSecret.name,
        version,
        previousVersion: current.webhookSecret.version,
        previousValidUntil,
        rotatedAt: now,
      },
      updatedAt: now,
    };
    await this.o.store.replace(instance, existing.etag);
    this.cache.delete(id);
    await this.o.audit?.record({ action: 'instance.secret-rotate', instanceId: id, actor: 'operator', outcome: 'success' });
    return { webhookSecret, previousValidUntil };
  }

  /** Removes the instance and soft-deletes its secrets (secrets first, so a failure leaves nothing dangling). */
  async remove(id: string): Promise<void> {
    const instance = await this.get(id);
    await this.o.secrets.delete(instance.webhookSecret.name);
    if (instance.clientSecret) await this.o.secrets.delete(instance.clientSecret.name);
    await this.o.store.delete(id);
    this.cache.delete(id);
    await this.o.audit?.record({ action: 'instance.delete', instanceId: id, actor: 'operator', outcome: 'success' });
  }

  /** The instance's OAuth client secret value, if it has one (for the connection test and token calls). */
  async clientSecret(instance: Instance): Promise<string | undefined> {
    if (!instance.clientSecret) return undefined;
    const secret = await this.o.secrets.get(instance.clientSecret.name, instance.clientSecret.version);
    return secret?.value;
  }
}
