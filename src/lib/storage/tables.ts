import type { TableClient } from '@azure/data-tables';

/** Every table of the bridge. Names get the `TABLE_PREFIX` setting in front, so environments can share an account. */
export interface Tables {
  /** PK "instance", RK instanceId: configuration of each ServiceNow instance (no secret values). */
  instances: TableClient;
  /**
   * PK instanceId. RK `e:{webhookId}`: the dedupe claim and outbox record of each event. RK
   * `i:{userSysId}:{time written}:{message id}`: inbox rows (one partition, so an event's status and its
   * inbox rows settle in one transaction).
   */
  events: TableClient;
  /** PK instanceId, RK dead-letter id: events that could not be delivered within 24 h. */
  deadLetters: TableClient;
  /** PK instanceId, RK userSysId: notification preferences. */
  preferences: TableClient;
  /** PK "{instanceId}:{userSysId}", RK sid: mobile sessions. */
  sessions: TableClient;
  /** PK instanceId, RK time: the append-only audit trail. */
  audit: TableClient;
}

export const TABLE_NAMES: Record<keyof Tables, string> = {
  instances: 'instances',
  events: 'events',
  deadLetters: 'deadletters',
  preferences: 'preferences',
  sessions: 'sessions',
  audit: 'audit',
};
