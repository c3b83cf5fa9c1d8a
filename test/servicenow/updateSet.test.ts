import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUSINESS_RULES, SCRIPT_INCLUDE, SERVICENOW_DIR } from './sources.js';

const GENERATOR = path.join(SERVICENOW_DIR, 'build-update-set.mjs');
const COMMITTED = readFileSync(path.join(SERVICENOW_DIR, 'update-set.xml'), 'utf8');

function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The field values of one record element (first level only; CDATA and entities decoded). */
function fields(xml: string, table: string): Record<string, string> {
  const inner = new RegExp(`<${table} action="INSERT_OR_UPDATE">([\\s\\S]*)</${table}>`).exec(xml)?.[1];
  if (inner === undefined) throw new Error(`no ${table} record`);
  const out: Record<string, string> = {};
  const element = /<([a-z_]+)((?:\s+[a-z_]+="[^"]*")*)\s*(?:\/>|>([\s\S]*?)<\/\1>)/g;
  for (let m = element.exec(inner); m; m = element.exec(inner)) {
    const raw = m[3] ?? '';
    out[m[1]!] = raw.startsWith('<![CDATA[') ? raw.slice(9, -3).replace(/]]]]><!\[CDATA\[>/g, ']]>') : unescape(raw);
  }
  return out;
}

const updates = [...COMMITTED.matchAll(/<sys_update_xml action="INSERT_OR_UPDATE">[\s\S]*?<\/sys_update_xml>/g)].map((m) => {
  const outer = fields(m[0], 'sys_update_xml');
  const table = /<record_update table="([a-z_]+)">/.exec(outer.payload ?? '')?.[1] ?? '';
  return { outer, table, record: fields(outer.payload!, table) };
});

describe('servicenow/update-set.xml', () => {
  it('is exactly what build-update-set.mjs generates from the sources (run it after changing them)', () => {
    expect(execFileSync(process.execPath, [GENERATOR, '--stdout'], { encoding: 'utf8' })).toBe(COMMITTED);
    expect(() => execFileSync(process.execPath, [GENERATOR, '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('is one loaded retrieved update set, global scope, holding 3 properties, the Script Include and 2 business rules', () => {
    expect(COMMITTED.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<unload unload_date="')).toBe(true);
    const set = fields(COMMITTED, 'sys_remote_update_set');
    expect(set).toMatchObject({ state: 'loaded', application: 'global', application_scope: 'global', sys_class_name: 'sys_remote_update_set' });
    expect(updates.map((u) => [u.outer.type, u.table, u.outer.target_name])).toEqual([
      ['System Property', 'sys_properties', 'x_flowquest.endpoint'],
      ['System Property', 'sys_properties', 'x_flowquest.instance_id'],
      ['System Property', 'sys_properties', 'x_flowquest.webhook_secret'],
      ['Script Include', 'sys_script_include', 'FlowQuestWebhook'],
      ['Business Rule', 'sys_script', 'FlowQuest: notify bridge (incident)'],
      ['Business Rule', 'sys_script', 'FlowQuest: notify bridge (approval)'],
    ]);
    for (const u of updates) {
      expect(u.outer).toMatchObject({ action: 'INSERT_OR_UPDATE', remote_update_set: set.sys_id, name: `${u.table}_${u.record.sys_id}` });
      expect(u.record.sys_id).toMatch(/^[0-9a-f]{32}$/);
      expect(u.record.sys_scope).toBe('global');
    }
    expect(new Set(updates.map((u) => u.record.sys_id)).size).toBe(updates.length);
    // Committed in this order: properties, then the Script Include, then the rules that call it.
    const recorded = updates.map((u) => u.outer.sys_recorded_at!);
    expect([...recorded].sort()).toEqual(recorded);
  });

  it('carries the sources verbatim', () => {
    const include = updates.find((u) => u.table === 'sys_script_include')!.record;
    expect(include).toMatchObject({ name: 'FlowQuestWebhook', api_name: 'global.FlowQuestWebhook', active: 'true', client_callable: 'false' });
    expect(include.script).toBe(SCRIPT_INCLUDE);
    for (const rule of BUSINESS_RULES) {
      const update = updates.find((u) => u.table === 'sys_script' && u.record.name === rule.meta.name)!;
      expect(update.outer.table).toBe(rule.meta.collection);
      expect(update.record).toMatchObject({
        collection: rule.meta.collection,
        when: 'after',
        order: '10000',
        action_insert: 'true',
        action_update: 'true',
        action_delete: 'false',
        advanced: 'true',
        active: 'true',
        condition: rule.condition,
      });
      expect(update.record.script).toBe(rule.script);
    }
  });

  it('installs the properties empty, private, the secret as password2', () => {
    const properties = Object.fromEntries(updates.filter((u) => u.table === 'sys_properties').map((u) => [u.record.name, u.record]));
    expect(properties['x_flowquest.webhook_secret']).toMatchObject({ type: 'password2', value: '', is_private: 'true' });
    expect(properties['x_flowquest.endpoint']).toMatchObject({ type: 'string', value: '', is_private: 'true' });
    expect(properties['x_flowquest.instance_id']).toMatchObject({ type: 'string', value: '', is_private: 'true' });
    expect(COMMITTED).not.toMatch(/whsec_[A-Za-z0-9+/]{8}/);
  });
});
