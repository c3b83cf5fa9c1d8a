/** The ServiceNow sources under servicenow/, as the tests load them, and helpers to run them in the shim. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_DIR } from '../../dev/stack.js';
import { createGlide, makeRecord, type Glide, type GlideOptions, type RecordSpec } from './glideShim.js';
import type { BusinessRuleSource, NotifyOptions, NotifyResult } from './snWorker.js';

export const SERVICENOW_DIR = path.join(PROJECT_DIR, 'servicenow');
export const SCRIPT_INCLUDE_PATH = path.join(SERVICENOW_DIR, 'script-includes/FlowQuestWebhook.js');
export const SCRIPT_INCLUDE = readFileSync(SCRIPT_INCLUDE_PATH, 'utf8');

export interface BusinessRuleMeta {
  name: string;
  collection: string;
  when: string;
  order: number;
  action_insert: boolean;
  action_update: boolean;
  action_delete: boolean;
  condition: string;
  description: string;
}

export interface BusinessRule extends BusinessRuleSource {
  file: string;
  meta: BusinessRuleMeta;
}

const RULES_DIR = path.join(SERVICENOW_DIR, 'business-rules');

export const BUSINESS_RULES: BusinessRule[] = readdirSync(RULES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const meta = JSON.parse(readFileSync(path.join(RULES_DIR, f), 'utf8')) as BusinessRuleMeta;
    const file = path.join(RULES_DIR, f.replace(/\.json$/, '.js'));
    return { file, meta, name: meta.name, condition: meta.condition, script: readFileSync(file, 'utf8') };
  });

export function ruleFor(table: string): BusinessRule {
  const rule = BUSINESS_RULES.find((r) => r.meta.collection === table);
  if (!rule) throw new Error(`no business rule for ${table}`);
  return rule;
}

/** A realm with the Script Include loaded. */
export function loadedGlide(options: GlideOptions): Glide {
  const glide = createGlide(options);
  glide.load(SCRIPT_INCLUDE, 'FlowQuestWebhook.js');
  return glide;
}

export function notify(glide: Glide, record: RecordSpec, options?: NotifyOptions): NotifyResult {
  return glide.run<NotifyResult>('new FlowQuestWebhook(options).notify(current, previous)', {
    current: makeRecord(record),
    previous: null,
    options: options ?? null,
  });
}

/** Fires a business rule as the platform does: the condition first, the script only when it holds. */
export function fire(glide: Glide, rule: BusinessRuleSource, record: RecordSpec): boolean {
  const current = makeRecord(record);
  const met = glide.run<unknown>(rule.condition, { current, previous: null }) === true;
  if (met) glide.run(rule.script, { current, previous: null });
  return met;
}

export function buildEnvelope(glide: Glide, record: RecordSpec): { body: string; envelope: Record<string, unknown> } {
  const body = glide.run<string>('var w = new FlowQuestWebhook(); w.serialize(w.buildEnvelope(current))', { current: makeRecord(record) });
  return { body, envelope: JSON.parse(body) as Record<string, unknown> };
}
