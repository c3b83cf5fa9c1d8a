/**
 * The part of ServiceNow's encoded query language (`sysparm_query`) the bridge uses: conditions
 * joined by `^` with the operators `=`, `!=` and `IN`, `ORDERBY…` terms (ignored: rows keep the
 * seed order), and the one script value `javascript:gs.getUserID()`.
 *
 * ServiceNow silently ignores a condition it cannot read and returns every row; this instance
 * refuses it with a 400 instead, so a wrong query in the bridge shows up in development.
 */
export interface Condition {
  readonly field: string;
  readonly op: '=' | '!=' | 'IN';
  readonly values: readonly string[];
}

export type ParsedQuery = { ok: true; conditions: Condition[] } | { ok: false; message: string };

const CONDITION = /^([a-z_][a-z0-9_]*?)(!=|=|IN)(.*)$/;
const CURRENT_USER = /^javascript:\s*gs\.getUserID\(\)\s*;?$/;

function resolveValue(value: string, currentUser: string): string | undefined {
  if (CURRENT_USER.test(value)) return currentUser;
  return value.startsWith('javascript:') ? undefined : value;
}

export function parseEncodedQuery(query: string, currentUser: string): ParsedQuery {
  const conditions: Condition[] = [];
  for (const term of query.split('^')) {
    if (term === '' || term === 'EQ' || term.startsWith('ORDERBY')) continue;
    if (term.startsWith('OR') || term.startsWith('NQ')) {
      return { ok: false, message: `OR and NQ queries are not supported by the development instance: ${term}` };
    }
    const match = CONDITION.exec(term);
    if (!match) return { ok: false, message: `Unsupported condition in sysparm_query: ${term}` };
    const [, field = '', op = '=', raw = ''] = match;
    const values: string[] = [];
    for (const part of op === 'IN' ? raw.split(',') : [raw]) {
      const value = resolveValue(part, currentUser);
      if (value === undefined) return { ok: false, message: `Only javascript:gs.getUserID() is supported as a script value: ${part}` };
      values.push(value);
    }
    conditions.push({ field, op: op as Condition['op'], values });
  }
  return { ok: true, conditions };
}

export function matches(conditions: readonly Condition[], valueOf: (field: string) => string | undefined): boolean {
  return conditions.every(({ field, op, values }) => {
    const value = valueOf(field) ?? '';
    return op === '!=' ? value !== values[0] : values.includes(value);
  });
}
