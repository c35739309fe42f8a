import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ifMatchPasses, ifNoneMatchPasses, normalizeEtag, parseEtagList, parseRange } from '../http.ts';
import { parseKey } from '../keys.ts';

describe('entity tags (RFC 9110)', () => {
  it('parses lists, * and bare tokens', () => {
    expect(parseEtagList('*')).toBe('*');
    expect(parseEtagList('"a", W/"b" ,"c"')).toEqual(['"a"', 'W/"b"', '"c"']);
    expect(parseEtagList('abc')).toEqual(['"abc"']);
    expect(normalizeEtag('abc')).toBe('"abc"');
    expect(normalizeEtag('W/"x"')).toBe('W/"x"');
  });

  it('If-Match compares strongly and is false without a current tag; If-None-Match compares weakly', () => {
    expect(ifMatchPasses('"a"', '"a"')).toBe(true);
    expect(ifMatchPasses('W/"a"', '"a"')).toBe(false);
    expect(ifMatchPasses('"b", "a"', '"a"')).toBe(true);
    expect(ifMatchPasses('*', '"a"')).toBe(true);
    expect(ifMatchPasses('*', undefined)).toBe(false);
    expect(ifNoneMatchPasses('*', undefined)).toBe(true);
    expect(ifNoneMatchPasses('*', '"a"')).toBe(false);
    expect(ifNoneMatchPasses('W/"a"', '"a"')).toBe(false);
    expect(ifNoneMatchPasses('"b"', '"a"')).toBe(true);
  });
});

describe('byte ranges', () => {
  it('one range: a-b, a-, -n; unsatisfiable past the end; anything else ignored', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual({ kind: 'range', start: 0, end: 0 });
    expect(parseRange('bytes=5-', 10)).toEqual({ kind: 'range', start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ kind: 'range', start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ kind: 'range', start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-5', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 10)).toEqual({ kind: 'unsatisfiable' });
    for (const h of [
      undefined,
      'bytes=',
      'bytes=-',
      'bytes=5-2',
      'bytes=1-2,4-5',
      'lines=1-2',
      'bytes=a-b',
    ]) {
      expect(parseRange(h, 10), String(h)).toEqual({ kind: 'none' });
    }
  });

  it('any satisfiable range lies inside the object', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.option(fc.nat(2000)), fc.option(fc.nat(2000)), (size, a, b) => {
        const header = `bytes=${a ?? ''}-${b ?? ''}`;
        const r = parseRange(header, size);
        if (r.kind === 'range') {
          expect(r.start).toBeGreaterThanOrEqual(0);
          expect(r.end).toBeLessThan(size);
          expect(r.start).toBeLessThanOrEqual(r.end);
        }
      }),
    );
  });
});

describe('keys', () => {
  it('accepts user/block/version/file and refuses anything that could leave the root', () => {
    expect(parseKey('u1/b-1/v_1/file.name.bin')).toEqual({
      userId: 'u1',
      blockId: 'b-1',
      versionId: 'v_1',
      fileName: 'file.name.bin',
    });
    const bad = [
      '',
      '/u/b/v/f',
      'u/b/v',
      'u/b/v/f/g',
      'u/b/v/..',
      'u/../v/f',
      'u/b/v/.hidden',
      'u/b/v/a..b',
      'u\\b/v/f',
      'u/b/v/f\0',
      'u/b/v/%2e%2e',
      'C:/b/v/f',
      'u//v/f',
      `u/b/v/${'x'.repeat(300)}`,
    ];
    for (const k of bad)
      expect(() => parseKey(k), JSON.stringify(k)).toThrow(
        expect.objectContaining({ code: 'STORAGE_BAD_KEY' }),
      );
  });
});
