/**
 * The default demo data. The sys_ids are the ones of the shared event fixtures
 * (/work/shared/fixtures/servicenow) and of a fresh ServiceNow personal developer instance, so an
 * event's `assigned_to` or `assignment_group` points at someone who can sign in here.
 */
import type { DevGroup, DevUser } from './instance.js';

export const NETWORK = '287ebd7da9fe198100f92cc8d1d2154e';
export const SERVICE_DESK = '8a4dde73c6112278017a6a4baf547aa7';
export const DATABASE = 'd625dccec0a8016700a222a0f7900d06';

export const DEFAULT_GROUPS: readonly DevGroup[] = [
  { sysId: NETWORK, name: 'Network' },
  { sysId: SERVICE_DESK, name: 'Service Desk' },
  { sysId: DATABASE, name: 'Database' },
];

export const DEFAULT_USERS: readonly DevUser[] = [
  { sysId: '46d44a23a9fe19810012d100cca80666', userName: 'beth.anglin', name: 'Beth Anglin', groups: [NETWORK, SERVICE_DESK] },
  { sysId: '5137153cc611227c000bbd1bd8cd2007', userName: 'david.loo', name: 'David Loo', groups: [SERVICE_DESK, DATABASE] },
  { sysId: '6816f79cc0a8016401c5a33be04be441', userName: 'admin', name: 'System Administrator', groups: [] },
  { sysId: '5137153cc611227c000bbd1bd8cd2005', userName: 'fred.luddy', name: 'Fred Luddy', groups: [NETWORK] },
];

/** The mobile app's OAuth client: public (no secret), so it must use PKCE. */
export const DEFAULT_CLIENT_ID = 'flowquest-mobile';
