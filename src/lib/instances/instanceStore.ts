import type { TableClient } from '@azure/data-tables';
import { ProblemError } from '../core/errors.js';
import { statusOf, tableCall } from '../storage/tableCall.js';
import type { Instance } from './instance.js';

const PARTITION = 'instance';

interface InstanceEntity {
  partitionKey: string;
  rowKey: string;
  doc: string;
}

/** Instances as one JSON document per row: the record is small and always read whole. */
export class InstanceStore {
  constructor(private readonly table: TableClient) {}

  async get(id: string): Promise<(Instance & { etag: string }) | undefined> {
    try {
      const entity = await tableCall('read instance', () => this.table.getEntity<InstanceEntity>(PARTITION, id));
      return { ...(JSON.parse(entity.doc) as Instance), etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Inserts a new instance; false when the id is already taken. */
  async create(instance: Instance): Promise<boolean> {
    try {
      await tableCall('create instance', () =>
        this.table.createEntity<InstanceEntity>({ partitionKey: PARTITION, rowKey: instance.id, doc: JSON.stringify(instance) }),
      );
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  /** Replaces an instance if unchanged since it was read; 409 CONFLICT when another write won. */
  async replace(instance: Instance, etag: string): Promise<void> {
    try {
      await tableCall('update instance', () =>
        this.table.updateEntity<InstanceEntity>(
          { partitionKey: PARTITION, rowKey: instance.id, doc: JSON.stringify(instance) },
          'Replace',
          { etag },
        ),
      );
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) {
        throw new ProblemError('CONFLICT', 'The instance was changed or deleted by another request meanwhile; read it again and retry.');
      }
      throw error;
    }
  }

  async delete(id: string): Promise<void> {
    await tableCall('delete instance', () => this.table.deleteEntity(PARTITION, id));
  }

  async list(): Promise<Instance[]> {
    const items: Instance[] = [];
    await tableCall('list instances', async () => {
      for await (const e of this.table.listEntities<InstanceEntity>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'` } })) {
        items.push(JSON.parse(e.doc) as Instance);
      }
    });
    return items.sort((a, b) => a.id.localeCompare(b.id));
  }
}
