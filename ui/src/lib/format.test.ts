import { describe, expect, it } from 'vitest';
import { formatAgo, formatDuration, formatElapsed, formatUptime, formatWhen, shortId } from './format';

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [-1, '—'],
    [0, '0 ms'],
    [412, '412 ms'],
    [999.6, '1000 ms'],
    [1000, '1.0 s'],
    [8115, '8.1 s'],
    [59_949, '59.9 s'],
    [60_000, '1 min 00 s'],
    [600_000, '10 min 00 s'],
    [3_725_000, '1 h 02 min'],
  ])('%s ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('formatElapsed', () => {
  it('shows seconds with one decimal, never negative', () => {
    expect(formatElapsed(0)).toBe('0.0 s');
    expect(formatElapsed(8115)).toBe('8.1 s');
    expect(formatElapsed(125_000)).toBe('125.0 s');
    expect(formatElapsed(-5)).toBe('0.0 s');
  });
});

describe('formatUptime', () => {
  it.each([
    [null, '—'],
    [45, '45 s'],
    [12 * 60 + 5, '12 min'],
    [5 * 3600 + 12 * 60, '5 h 12 min'],
    [3 * 86400 + 4 * 3600 + 120, '3 d 4 h'],
  ])('%s s → %s', (s, text) => expect(formatUptime(s)).toBe(text));
});

describe('shortId', () => {
  it('keeps the first 8 characters', () => {
    expect(shortId('3f1c2a9e-5b7d-4e21-9a0c-7d2e8b1f4a60')).toBe('3f1c2a9e');
    expect(shortId('abc')).toBe('abc');
    expect(shortId(null)).toBe('—');
  });
});

describe('formatWhen / formatAgo', () => {
  it('formats an RFC 3339 time in local time (UTC in tests)', () => {
    expect(formatWhen('2026-11-25T09:41:03.123456+00:00')).toBe('2026-11-25 09:41:03');
    expect(formatWhen('not a date')).toBe('not a date');
    expect(formatWhen(null)).toBe('—');
  });

  it('says how long ago', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(formatAgo('2026-11-25T11:59:40Z', now)).toBe('just now');
    expect(formatAgo('2026-11-25T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAgo('2026-11-25T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAgo('2026-11-23T12:00:00Z', now)).toBe('2 d ago');
  });
});
