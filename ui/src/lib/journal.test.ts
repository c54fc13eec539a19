import { describe, expect, it } from 'vitest';
import { origin, rebootDurations } from './journal';
import { actionRecord } from './testing/records';

const rec = actionRecord;

describe('rebootDurations', () => {
  it("keeps only the host's succeeded reboots, oldest first, as Unix seconds → seconds", () => {
    const records = [
      rec({ id: 5, created_at: '2026-11-22T10:00:00Z', duration_ms: 24_500 }),
      rec({ id: 4, state: 'failed', duration_ms: 600_000 }),
      rec({ id: 3, kind: 'exec' }),
      rec({ id: 2, target: 'web-2' }),
      rec({ id: 1, created_at: '2026-11-20T10:00:00Z', duration_ms: 31_000 }),
      rec({ id: 0, duration_ms: null }),
    ];
    expect(rebootDurations(records, 'web-1')).toEqual({
      x: [Date.parse('2026-11-20T10:00:00Z') / 1000, Date.parse('2026-11-22T10:00:00Z') / 1000],
      y: [31, 24.5],
    });
  });

  it('is empty when there is nothing to plot', () => {
    expect(rebootDurations([], 'web-1')).toEqual({ x: [], y: [] });
  });
});

describe('origin', () => {
  it('is frontend@device', () => expect(origin(rec({ frontend: 'cli', device: 'ops-mac' }))).toBe('cli@ops-mac'));
});
