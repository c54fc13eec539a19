import { describe, expect, it } from 'vitest';
import { formatReading, readingLevel, selectorOf, tagLabel, toggled } from './fleet';

describe('metric cells', () => {
  it('write percentages whole, load with two decimals, unknown as a dash', () => {
    expect(formatReading({ value: 96.6, level: 'danger' }, 'percent')).toBe('97%');
    expect(formatReading({ value: 0.4212, level: 'ok' }, 'load')).toBe('0.42');
    expect(formatReading({ value: null, level: 'unknown' }, 'percent')).toBe('—');
    expect(formatReading(undefined, 'load')).toBe('—');
  });

  it('take the level the core gave, unknown when there is no reading', () => {
    expect(readingLevel({ value: 85, level: 'warning' })).toBe('warning');
    expect(readingLevel(null)).toBe('unknown');
  });
});

describe('selection', () => {
  it('builds the selector of the chosen tags and groups', () => {
    expect(selectorOf([['role', 'web']], ['checkout'])).toEqual({ names: [], tags: [['role', 'web']], groups: ['checkout'] });
    expect(tagLabel(['env', 'prod'])).toBe('env=prod');
  });

  it('toggles a choice in and out', () => {
    const once = toggled<[string, string]>([], ['role', 'web'], tagLabel);
    expect(once).toEqual([['role', 'web']]);
    expect(toggled(once, ['role', 'web'], tagLabel)).toEqual([]);
  });
});
