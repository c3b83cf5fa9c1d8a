import { odata, type TableClient } from '@azure/data-tables';
import { statusOf, tableCall } from '../storage/tableCall.js';
import { toKey } from '../storage/keys.js';

/** One device signed in as one user of one instance. */
export interface Session {
  sid: string;
  instanceId: string;
  userSysId: string;
  userName: string;
  name: string;
  deviceId: string;
  status: 'active' | 'reauth' | 'ended';
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  /** Key Vault secret holding the refresh token. */
  refreshSecretName: string;
  /** The current ServiceNow access token, sealed (see sessionKeys.ts), and when it expires. */
  accessTokenSealed: string;
  accessTokenExpiresAt: number;
  /** A refresh in progress on some Function instance, until this time. */
  leaseUntil: number;
  etag?: string;
}

type SessionEntity = Omit<Session, 'sid' | 'etag' | 'createdAt' | 'lastUsedAt' | 'expiresAt' | 'accessTokenExpiresAt' | 'leaseUntil'> & {
  partitionKey: string;
  rowKey: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  accessTokenExpiresAt: Date;
  leaseUntil: Date;
};

/** Sessions of one user of one instance share a partition, so "my sessions" is one query. */
export const sessionPartition = (instanceId: string, userSysId: string) => toKey(`${instanceId}:${userSysId}`);

function toEntity(s: Session): SessionEntity {
  const { sid, etag: _etag, ...rest } = s;
  return {
    ...rest,
    partitionKey: sessionPartition(s.instanceId, s.userSysId),
    rowKey: sid,
    createdAt: new Date(s.createdAt),
    lastUsedAt: new Date(s.lastUsedAt),
    expiresAt: new Date(s.expiresAt),
    accessTokenExpiresAt: new Date(s.accessTokenExpiresAt),
    leaseUntil: new Date(s.leaseUntil),
  };
}

function fromEntity(e: SessionEntity & { etag?: string }): Session {
  return {
    sid: e.rowKey,
    instanceId: e.instanceId,
    userSysId: e.userSysId,
    userName: e.userName,
    name: e.name,
    deviceId: e.deviceId,
    status: e.status,
    createdAt: new Date(e.createdAt).getTime(),
    lastUsedAt: new Date(e.lastUsedAt).getTime(),
    expiresAt: new Date(e.expiresAt).getTime(),
    refreshSecretName: e.refreshSecretName,
    accessTokenSealed: e.accessTokenSealed,
    accessTokenExpiresAt: new Date(e.accessTokenExpiresAt).getTime(),
    leaseUntil: new Date(e.leaseUntil).getTime(),
    ...(e.etag ? { etag: e.etag } : {}),
  };
}

export class SessionStore {
  constructor(private readonly table: TableClient) {}

  async create(session: Session): Promise<void> {
    await tableCall('create session', () => this.table.createEntity(toEntity(session)));
  }

  async get(instanceId: string, userSysId: string, sid: string): Promise<Session | undefined> {
    try {
      const e = await tableCall('read session', () => this.table.getEntity<SessionEntity>(sessionPartition(instanceId, userSysId), sid));
      return fromEntity(e);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Takes the refresh lease: only if the row is unchanged since `session` was read (ETag), so of two
   * instances that read the same expired row only one wins (the other gets a 412 RestError).
   */
  async acquireLease(session: Session, until: number): Promise<Session> {
    const result = await tableCall('lease session', () =>
      this.table.updateEntity(
        { partitionKey: sessionPartition(session.instanceId, session.userSysId), rowKey: session.sid, leaseUntil: new Date(until) },
        'Merge',
        { etag: session.etag ?? '*' },
      ),
    );
    return { ...session, leaseUntil: until, ...(result.etag ? { etag: result.etag } : {}) };
  }

  /** Changes some fields only if the row is unchanged since `session` was read (412 RestError otherwise). */
  async updateIf(session: Session, fields: Partial<Omit<Session, 'sid' | 'instanceId' | 'userSysId' | 'etag'>>): Promise<void> {
    await this.write(session, fields, session.etag ?? '*');
  }

  /** Changes some fields whatever else changed meanwhile (each writer owns its fields). */
  async update(session: Pick<Session, 'instanceId' | 'userSysId' | 'sid'>, fields: Partial<Omit<Session, 'sid' | 'instanceId' | 'userSysId' | 'etag'>>): Promise<void> {
    await this.write(session, fields);
  }

  private async write(session: Pick<Session, 'instanceId' | 'userSysId' | 'sid'>, fields: Partial<Omit<Session, 'sid' | 'instanceId' | 'userSysId' | 'etag'>>, etag?: string): Promise<void> {
    const entity: Record<string, unknown> = { partitionKey: sessionPartition(session.instanceId, session.userSysId), rowKey: session.sid };
    for (const [name, value] of Object.entries(fields)) {
      entity[name] = ['createdAt', 'lastUsedAt', 'expiresAt', 'accessTokenExpiresAt', 'leaseUntil'].includes(name) ? new Date(value as number) : value;
    }
    await tableCall('update session', () => this.table.updateEntity(entity as { partitionKey: string; rowKey: string }, 'Merge', etag ? { etag } : undefined));
  }

  async listForUser(instanceId: string, userSysId: string): Promise<Session[]> {
    const filter = odata`PartitionKey eq ${sessionPartition(instanceId, userSysId)}`;
    const items: Session[] = [];
    await tableCall('list sessions', async () => {
      for await (const e of this.table.listEntities<SessionEntity>({ queryOptions: { filter } })) items.push(fromEntity(e));
    });
    return items;
  }

  /** Sessions past their expiry or ended (for the daily clean-up). */
  async listExpired(now: number): Promise<Session[]> {
    const filter = odata`expiresAt lt ${new Date(now)} or status eq 'ended'`;
    const items: Session[] = [];
    await tableCall('list expired sessions', async () => {
      for await (const e of this.table.listEntities<SessionEntity>({ queryOptions: { filter } })) items.push(fromEntity(e));
    });
    return items;
  }

  async delete(session: Session): Promise<void> {
    try {
      await tableCall('delete session', () => this.table.deleteEntity(sessionPartition(session.instanceId, session.userSysId), session.sid));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
