import { describe, expect, it } from 'vitest';
import { chartAxes, chartPalette } from './theme.svelte';

describe('chart colours', () => {
  it('has as many line colours in each scheme, and lighter axes at night', () => {
    expect(chartPalette('dark')).toHaveLength(chartPalette('light').length);
    expect(chartPalette('dark')).not.toEqual(chartPalette('light'));
    const lum = (hex: string) => parseInt(hex.slice(1, 3), 16) + parseInt(hex.slice(3, 5), 16) + parseInt(hex.slice(5, 7), 16);
    expect(lum(chartAxes('dark').stroke)).toBeGreaterThan(lum(chartAxes('light').stroke));
    expect(lum(chartAxes('dark').grid)).toBeLessThan(lum(chartAxes('light').grid));
  });
});
