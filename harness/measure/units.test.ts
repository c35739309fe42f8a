import { describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import { convert, formatValue, unitInfo } from './units.ts';

describe('units', () => {
  it('converts within a dimension', () => {
    expect(convert(4200, 'ns', 'us')).toBeCloseTo(4.2);
    expect(convert(1, 'ms', 'µs')).toBeCloseTo(1000);
    expect(convert(2, 'GB/s', 'B/s')).toBe(2e9);
    expect(convert(1.5, 'M msg/s', 'msg/s')).toBe(1.5e6);
    expect(convert(1, 'MiB', 'KiB')).toBe(1024);
  });

  it('refuses to compare different dimensions', () => {
    expect(() => convert(1, 'ms', 'msg/s')).toThrow(RigError);
    expect(unitInfo('tok/s').dimension).toBe('rate');
    expect(unitInfo('MB/s').dimension).toBe('byte-rate');
  });

  it('formats with a readable scale', () => {
    expect(formatValue(0.0000042, 's')).toBe('4.20 µs');
    expect(formatValue(1_234_567, 'msg/s')).toBe('1.23M msg/s');
    expect(formatValue(4.1e9, 'B/s')).toBe('4.10 GB/s');
    expect(formatValue(12.345, 'ms')).toBe('12.3 ms');
  });
});
