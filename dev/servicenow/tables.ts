/**
 * The three tables the bridge reads, built from the seed: `sys_user`, `sys_user_group` and
 * `sys_user_grmember`, with the fields and reference shapes of the Table API. A token only sees
 * its own user and its own memberships (rows outside an ACL simply do not appear, as on
 * ServiceNow); groups are visible to everyone.
 */
import { createHash } from 'node:crypto';

import type { Config } from './options.js';

export interface Reference {
  readonly table: string;
  readonly value: string;
  readonly display: string;
}

export type FieldValue = string | Reference;
export type Row = Readonly<Record<string, FieldValue>>;

export interface Table {
  readonly name: string;
  readonly fields: readonly string[];
  readonly rows: readonly Row[];
  /** Whether the user may read the row. */
  visible(row: Row, userSysId: string): boolean;
}

export function rawValue(value: FieldValue | undefined): string | undefined {
  return typeof value === 'object' ? value.value : value;
}

/** A stable sys_id for a membership row. */
function membershipId(userSysId: string, groupSysId: string): string {
  return createHash('sha256').update(`${userSysId}:${groupSysId}`).digest('hex').slice(0, 32);
}

export function buildTables(config: Config): Map<string, Table> {
  const users: Row[] = config.users.map((u) => {
    const [first = u.name, ...rest] = u.name.split(' ');
    return {
      sys_id: u.sysId,
      user_name: u.userName,
      name: u.name,
      first_name: first,
      last_name: rest.join(' '),
      email: `${u.userName}@example.com`,
      active: 'true',
    };
  });
  const groups: Row[] = config.groups.map((g) => ({ sys_id: g.sysId, name: g.name, description: '', active: 'true' }));
  const members: Row[] = config.users.flatMap((u) =>
    u.groups.map((groupId) => ({
      sys_id: membershipId(u.sysId, groupId),
      user: { table: 'sys_user', value: u.sysId, display: u.name },
      group: { table: 'sys_user_group', value: groupId, display: config.groupsById.get(groupId)?.name ?? '' },
    })),
  );
  const tables: Table[] = [
    {
      name: 'sys_user',
      fields: ['sys_id', 'user_name', 'name', 'first_name', 'last_name', 'email', 'active'],
      rows: users,
      visible: (row, me) => row.sys_id === me,
    },
    { name: 'sys_user_group', fields: ['sys_id', 'name', 'description', 'active'], rows: groups, visible: () => true },
    {
      name: 'sys_user_grmember',
      fields: ['sys_id', 'user', 'group'],
      rows: members,
      visible: (row, me) => rawValue(row.user) === me,
    },
  ];
  return new Map(tables.map((t) => [t.name, t]));
}
