import { describe, expect, it } from 'vitest';
import {
  nextCronOccurrence,
  parseNcrontab,
  parseTimerSchedule,
  parseTimeSpan,
  ScheduleError,
} from '../../dev/host/ncrontab.js';

const sorted = (s: ReadonlySet<number>) => [...s].sort((a, b) => a - b);
const next = (expr: string, after: string) => nextCronOccurrence(parseNcrontab(expr), new Date(after))?.toISOString();

describe('parseNcrontab', () => {
  it('parses *, values, lists, ranges and steps', () => {
    const f = parseNcrontab('*/15 5/15 9-17 1,15,31 */3 1-5');
    expect(sorted(f.seconds)).toEqual([0, 15, 30, 45]);
    expect(sorted(f.minutes)).toEqual([5, 20, 35, 50]);
    expect(sorted(f.hours)).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(sorted(f.days)).toEqual([1, 15, 31]);
    expect(sorted(f.months)).toEqual([1, 4, 7, 10]);
    expect(sorted(f.daysOfWeek)).toEqual([1, 2, 3, 4, 5]);
    expect(sorted(parseNcrontab('0 10-50/10 * * * *').minutes)).toEqual([10, 20, 30, 40, 50]);
    expect(parseNcrontab('* * * * * *').seconds.size).toBe(60);
  });

  it('accepts month and day names, short or long, in any case', () => {
    const f = parseNcrontab('0 0 0 * jan,MAR,December Mon-fri');
    expect(sorted(f.months)).toEqual([1, 3, 12]);
    expect(sorted(f.daysOfWeek)).toEqual([1, 2, 3, 4, 5]);
    expect(sorted(parseNcrontab('0 0 0 * * Sunday,saturday').daysOfWeek)).toEqual([0, 6]);
  });

  it('accepts a 5-field expression with second 0', () => {
    const f = parseNcrontab('*/5 * * * *');
    expect(sorted(f.seconds)).toEqual([0]);
    expect(f.minutes.has(55)).toBe(true);
  });

  it('rejects malformed expressions', () => {
    for (const bad of [
      '',
      '* * * *',
      '* * * * * * *',
      '60 * * * * *',
      '* 60 * * * *',
      '* * 24 * * *',
      '* * * 0 * *',
      '* * * 32 * *',
      '* * * * 13 *',
      '* * * * * 7',
      '*/0 * * * * *',
      '5-1 * * * * *',
      '* * * * Foo *',
      '1,,2 * * * * *',
      '1-2-3 * * * * *',
      'a * * * * *',
    ]) {
      expect(() => parseNcrontab(bad), bad).toThrow(ScheduleError);
    }
  });
});

describe('nextCronOccurrence (UTC, strictly after)', () => {
  it('finds the next matching second', () => {
    expect(next('*/1 * * * * *', '2024-05-01T12:00:00.000Z')).toBe('2024-05-01T12:00:01.000Z');
    expect(next('*/1 * * * * *', '2024-05-01T12:00:00.400Z')).toBe('2024-05-01T12:00:01.000Z');
    expect(next('*/30 * * * * *', '2024-05-01T12:00:45.000Z')).toBe('2024-05-01T12:01:00.000Z');
  });

  it('handles minutes, hours and rollovers', () => {
    expect(next('0 */5 * * * *', '2024-05-01T12:03:27Z')).toBe('2024-05-01T12:05:00.000Z');
    expect(next('0 */5 * * * *', '2024-05-01T12:05:00Z')).toBe('2024-05-01T12:10:00.000Z');
    expect(next('0 0 * * * *', '2024-12-31T23:59:59Z')).toBe('2025-01-01T00:00:00.000Z');
    expect(next('0 30 9 * * *', '2024-05-01T09:30:00Z')).toBe('2024-05-02T09:30:00.000Z');
  });

  it('requires both day-of-month and day-of-week to match (NCrontab)', () => {
    // Weekdays at 09:30: Friday 2024-05-03 10:00 → Monday 2024-05-06 09:30.
    expect(next('0 30 9 * * Mon-Fri', '2024-05-03T10:00:00Z')).toBe('2024-05-06T09:30:00.000Z');
    // Friday the 13th after 2024-01-01: 2024-09-13.
    expect(next('0 0 0 13 * Fri', '2024-01-01T00:00:00Z')).toBe('2024-09-13T00:00:00.000Z');
  });

  it('handles months, leap days and impossible dates', () => {
    expect(next('0 0 0 1 Jan *', '2024-06-15T00:00:00Z')).toBe('2025-01-01T00:00:00.000Z');
    expect(next('0 0 0 29 2 *', '2024-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 0 31 * *', '2024-04-01T00:00:00Z')).toBe('2024-05-31T00:00:00.000Z');
    expect(next('0 0 0 30 2 *', '2024-01-01T00:00:00Z')).toBeUndefined();
  });

  it('gives a sequence for the documented examples', () => {
    // "0 */5 * * * *": once every five minutes.
    const fields = parseNcrontab('0 */5 * * * *');
    let t = new Date('2024-01-01T00:00:00Z');
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      t = nextCronOccurrence(fields, t)!;
      seen.push(t.toISOString());
    }
    expect(seen).toEqual(['2024-01-01T00:05:00.000Z', '2024-01-01T00:10:00.000Z', '2024-01-01T00:15:00.000Z']);
    // "0 30 9 * Jan Mon": 9:30 AM every Monday in January.
    expect(next('0 30 9 * Jan Mon', '2024-01-02T00:00:00Z')).toBe('2024-01-08T09:30:00.000Z');
  });
});

describe('TimeSpan schedules', () => {
  it('parses .NET TimeSpan forms', () => {
    expect(parseTimeSpan('00:00:05')).toBe(5_000);
    expect(parseTimeSpan('01:30')).toBe(90 * 60_000);
    expect(parseTimeSpan('1.02:03:04')).toBe(((24 + 2) * 3600 + 3 * 60 + 4) * 1000);
    expect(parseTimeSpan('00:00:01.5')).toBe(1_500);
    expect(parseTimeSpan('2')).toBe(2 * 86_400_000);
    expect(parseTimeSpan('24:00:00')).toBeUndefined();
    expect(parseTimeSpan('0 */5 * * * *')).toBeUndefined();
  });

  it('parseTimerSchedule picks interval or cron', () => {
    const interval = parseTimerSchedule('00:00:10');
    expect(interval.kind).toBe('interval');
    expect(interval.adjustForDST).toBe(false);
    expect(interval.next(new Date('2024-01-01T00:00:00.250Z'))?.toISOString()).toBe('2024-01-01T00:00:10.250Z');
    const cron = parseTimerSchedule('0 0 * * * *');
    expect(cron.kind).toBe('cron');
    expect(cron.adjustForDST).toBe(true);
    expect(cron.next(new Date('2024-01-01T00:10:00Z'))?.toISOString()).toBe('2024-01-01T01:00:00.000Z');
    expect(() => parseTimerSchedule('00:00:00')).toThrow(ScheduleError);
    expect(() => parseTimerSchedule('every minute')).toThrow(ScheduleError);
  });
});
