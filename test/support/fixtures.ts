import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The shared ServiceNow fixtures (../shared/fixtures/servicenow beside the repository). */
export const FIXTURE_DIR = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/fixtures/servicenow');

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort();
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(path.join(FIXTURE_DIR, name));
}

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fixtureBytes(name).toString('utf8')) as Record<string, unknown>;
}

type Expected = { status: 'filtered' } | { status: 'accepted'; sends: string[] };

/**
 * The expected results of fixtures/servicenow/README.md, as `user:<sysId>` / `group:<name>` targets
 * with `{i}` standing for the instance id. The README abbreviates sys_ids; these are the fixtures' own.
 */
export const EXPECTED: Record<string, Expected> = {
  'incident-p1-inserted-assigned.json': {
    status: 'accepted',
    sends: [
      'incident.assigned user {i}:46d44a23a9fe19810012d100cca80666',
      'incident.critical group {i}:critical',
      'incident.critical group {i}:group:287ebd7da9fe198100f92cc8d1d2154e',
    ],
  },
  'incident-reassigned-p3.json': {
    status: 'accepted',
    sends: ['incident.assigned user {i}:5137153cc611227c000bbd1bd8cd2007'],
  },
  'incident-escalated-to-p2.json': {
    status: 'accepted',
    sends: ['incident.critical group {i}:critical', 'incident.critical group {i}:group:d625dccec0a8016700a222a0f7900d06'],
  },
  'incident-p4-worknotes-only.json': { status: 'filtered' },
  'approval-requested-change.json': {
    status: 'accepted',
    sends: ['approval.requested user {i}:6816f79cc0a8016401c5a33be04be441'],
  },
  'approval-approved.json': { status: 'filtered' },
};

/**
 * The `incident.assigned` message the P1 fixture must become (CONTRACT.md §3), written out by hand
 * from the fixture, so that every test compares against the same expectation.
 */
export function p1AssignedMessage(instanceId: string, eventId: string) {
  return {
    v: 1,
    id: `${eventId}:incident.assigned`,
    eventId,
    kind: 'incident.assigned',
    instanceId,
    table: 'incident',
    sysId: '9d385017c611228701d22104cc95c371',
    number: 'INC0010042',
    title: 'Email server down for the whole EMEA region',
    priority: 1,
    state: '1',
    updatedAt: '2026-11-22T09:14:03Z',
  };
}
