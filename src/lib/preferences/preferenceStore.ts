import type { TableClient } from '@azure/data-tables';
import type { Clock } from '../core/clock.js';
import { TtlCache } from '../core/ttlCache.js';
import { statusOf, tableCall } from '../storage/tableCall.js';
import { toKey } from '../storage/keys.js';
import { DEFAULT_PREFERENCES, preferencesSchema, type Preferences } from './preferences.js';

interface PreferencesEntity {
  partitionKey: string;
  rowKey: string;
  doc: string;
}

/**
 * Preferences per user (PK instanceId, RK userSysId). The webhook path reads them through a short
 * cache: a change made on another Function instance applies within the TTL.
 */
export class PreferenceStore {
  private readonly cache: TtlCache<string, Preferences>;

  constructor(
    private readonly table: TableClient,
    clock: Clock,
    cacheTtlMs: number,
  ) {
    this.cache = new TtlCache(cacheTtlMs, clock);
  }

  async get(instanceId: string, userSysId: string): Promise<Preferences> {
    return this.cache.get(`${instanceId}:${userSysId}`, () => this.read(instanceId, userSysId));
  }

  private async read(instanceId: string, userSysId: string): Promise<Preferences> {
    try {
      const entity = await tableCall('read preferences', () =>
        this.table.getEntity<PreferencesEntity>(instanceId, toKey(userSysId)),
      );
      const parsed = preferencesSchema.safeParse(JSON.parse(entity.doc));
      return parsed.success ? parsed.data : { ...DEFAULT_PREFERENCES };
    } catch (error) {
      if (statusOf(error) === 404) return { ...DEFAULT_PREFERENCES };
      throw error;
    }
  }

  async put(instanceId: string, userSysId: string, preferences: Preferences): Promise<void> {
    await tableCall('write preferences', () =>
      this.table.upsertEntity<PreferencesEntity>(
        { partitionKey: instanceId, rowKey: toKey(userSysId), doc: JSON.stringify(preferences) },
        'Replace',
      ),
    );
    this.cache.set(`${instanceId}:${userSysId}`, preferences);
  }
}
