/**
 * Timer trigger schedules, as the Functions timer extension reads them
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions):
 *
 * - NCRONTAB: `{second} {minute} {hour} {day} {month} {day-of-week}`. Each field takes `*`, a value, a list
 *   (`1,5,10`), a range (`9-17`), a step (`*\/30`, `10-50/10`, `5/15` = from 5 to the maximum every 15) and, for
 *   months and days of the week, names (`Jan`, `January`, `Mon`, `Monday`, case-insensitive). A 5-field
 *   expression (no seconds) is accepted too, as NCrontab does, with second 0.
 *   Like NCrontab, a time must match BOTH the day-of-month and the day-of-week field (unlike Vixie cron's OR).
 *   Day of week is 0-6 with 0 = Sunday.
 * - TimeSpan (`hh:mm:ss`, `hh:mm`, `d.hh:mm:ss`, `d` with optional `.fffffff`): a constant interval;
 *   the next occurrence is "now + interval" (the extension's ConstantSchedule).
 *
 * All computations are in UTC. WEBSITE_TIME_ZONE is not supported by this local host.
 * Pure functions only (unit-tested on their own).
 */

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export interface CronFields {
  seconds: ReadonlySet<number>;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  daysOfWeek: ReadonlySet<number>;
}

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = [
  'january', 'february', 'march', 'april', 'may', 'june',
  'july', 'august', 'september', 'october', 'november', 'december',
] as const;
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

const SECOND: FieldSpec = { label: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { label: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { label: 'hour', min: 0, max: 23 };
const DAY: FieldSpec = { label: 'day', min: 1, max: 31 };
const MONTH: FieldSpec = { label: 'month', min: 1, max: 12, names: MONTH_NAMES };
const DAY_OF_WEEK: FieldSpec = { label: 'day-of-week', min: 0, max: 6, names: DAY_NAMES };

function parseValue(text: string, spec: FieldSpec, expression: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) {
      throw new ScheduleError(`'${text}' is out of range ${spec.min}-${spec.max} for the ${spec.label} field in '${expression}'.`);
    }
    return n;
  }
  if (spec.names && text.length >= 3) {
    const lower = text.toLowerCase();
    const index = spec.names.findIndex((name) => name.startsWith(lower));
    if (index >= 0) return spec.min + index;
  }
  throw new ScheduleError(`'${text}' is not a valid ${spec.label} in '${expression}'.`);
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new ScheduleError(`Empty list item in the ${spec.label} field of '${expression}'.`);
    const [rangeText, stepText, extra] = item.split('/');
    if (extra !== undefined) throw new ScheduleError(`Invalid step '${item}' in '${expression}'.`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw new ScheduleError(`Invalid step '${stepText}' in the ${spec.label} field of '${expression}'.`);
      }
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (rangeText === '*') {
      from = spec.min;
      to = spec.max;
    } else if (rangeText!.includes('-')) {
      const [a, b, more] = rangeText!.split('-');
      if (more !== undefined || !a || !b) throw new ScheduleError(`Invalid range '${rangeText}' in '${expression}'.`);
      from = parseValue(a, spec, expression);
      to = parseValue(b, spec, expression);
      if (from > to) throw new ScheduleError(`Range '${rangeText}' runs backwards in '${expression}'.`);
    } else {
      from = parseValue(rangeText!, spec, expression);
      // "5/15" means "from 5 to the maximum, every 15" (NCrontab); a bare value is just that value.
      to = stepText !== undefined ? spec.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** Parse a 6-field (or 5-field) NCRONTAB expression. Throws ScheduleError. */
export function parseNcrontab(expression: string): CronFields {
  const fields = expression.trim().split(/\s+/);
  if (fields.length === 5) fields.unshift('0');
  if (fields.length !== 6 || fields[0] === '') {
    throw new ScheduleError(
      `'${expression}' is not a valid NCRONTAB expression: expected 6 fields '{second} {minute} {hour} {day} {month} {day-of-week}'.`,
    );
  }
  const [s, mi, h, d, mo, dow] = fields as [string, string, string, string, string, string];
  return {
    seconds: parseField(s, SECOND, expression),
    minutes: parseField(mi, MINUTE, expression),
    hours: parseField(h, HOUR, expression),
    days: parseField(d, DAY, expression),
    months: parseField(mo, MONTH, expression),
    daysOfWeek: parseField(dow, DAY_OF_WEEK, expression),
  };
}

// A day-of-month + day-of-week combination such as "29 Feb on a Monday" can be decades away (28-year cycle, longer
// across 2100). Past this horizon we report "never" instead of looping forever on impossible dates like 30 Feb.
const SEARCH_YEARS = 60;

/** First time strictly after `after` (UTC, whole seconds) that matches, or undefined if none within 60 years. */
export function nextCronOccurrence(fields: CronFields, after: Date): Date | undefined {
  const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
  const endYear = t.getUTCFullYear() + SEARCH_YEARS;
  while (t.getUTCFullYear() <= endYear) {
    if (!fields.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!fields.days.has(t.getUTCDate()) || !fields.daysOfWeek.has(t.getUTCDay())) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!fields.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!fields.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    if (!fields.seconds.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
      continue;
    }
    return new Date(t.getTime());
  }
  return undefined;
}

/**
 * Parse a .NET TimeSpan string as the timer extension accepts it: `[d.]hh:mm[:ss[.fffffff]]` or `d` (days).
 * Returns milliseconds, or undefined when the text is not a TimeSpan.
 */
export function parseTimeSpan(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s) * 86_400_000;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/.exec(s);
  if (!m) return undefined;
  const days = Number(m[1] ?? 0);
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  const seconds = Number(m[4] ?? 0);
  const fraction = m[5] ? Number(`0.${m[5]}`) : 0;
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  return ((days * 24 + hours) * 60 + minutes) * 60_000 + Math.round((seconds + fraction) * 1000);
}

export interface TimerSchedule {
  readonly kind: 'cron' | 'interval';
  readonly expression: string;
  /** Timer argument `schedule.adjustForDST`: true for cron schedules, false for constant intervals (as the extension). */
  readonly adjustForDST: boolean;
  /** Next occurrence strictly after `after`; undefined = never. */
  next(after: Date): Date | undefined;
}

/** Parse a timer trigger `schedule`: a TimeSpan if it parses as one, else NCRONTAB. Throws ScheduleError. */
export function parseTimerSchedule(expression: string): TimerSchedule {
  const interval = parseTimeSpan(expression);
  if (interval !== undefined) {
    if (interval <= 0) throw new ScheduleError(`Timer interval '${expression}' must be greater than zero.`);
    return {
      kind: 'interval',
      expression,
      adjustForDST: false,
      next: (after) => new Date(after.getTime() + interval),
    };
  }
  const fields = parseNcrontab(expression);
  return { kind: 'cron', expression, adjustForDST: true, next: (after) => nextCronOccurrence(fields, after) };
}
