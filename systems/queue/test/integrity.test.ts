import { describe, expect, it } from 'vitest';
import { useQueues } from './helpers.ts';

const queues = useQueues('integrity');

/** Values node:v8 carries, each compared after a round trip through shared memory. */
const VALUES: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['true', true],
  ['false', false],
  ['zero', 0],
  ['negative zero', -0],
  ['integer', 42],
  ['negative integer', -123456789],
  ['float', Math.PI],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['max safe integer', Number.MAX_SAFE_INTEGER],
  ['BigInt', 2n ** 100n],
  ['negative BigInt', -(2n ** 70n)],
  ['empty string', ''],
  ['ascii string', 'hello queue'],
  ['unicode string', 'héllo wörld \u{1F600} 日本語'],
  ['long string', 'x'.repeat(10_000)],
  ['empty array', []],
  ['array', [1, 'two', 3.5, null, undefined]],
  // biome-ignore lint/suspicious/noSparseArray: a hole is the value under test
  ['sparse array', [1, , 3]],
  ['empty object', {}],
  ['object', { a: 1, b: 'two', c: [3] }],
  ['nested', { a: { b: { c: { d: [1, { e: new Map([['f', new Set([1, 2])]]) }] } } } }],
  [
    'Map',
    new Map<unknown, unknown>([
      [1, 'a'],
      ['b', { c: 2 }],
    ]),
  ],
  ['Set', new Set([1, 'a', 2n])],
  ['Date', new Date('2026-01-02T03:04:05.678Z')],
  ['RegExp', /ab+c/gi],
  ['Buffer', Buffer.from([0, 1, 2, 254, 255])],
  ['Uint8Array', new Uint8Array([1, 2, 3])],
  ['Int16Array', new Int16Array([-1, 2, -3])],
  ['Float64Array', new Float64Array([1.5, -2.25, Number.NaN])],
  ['BigInt64Array', new BigInt64Array([1n, -2n])],
  ['ArrayBuffer', new Uint8Array([9, 8, 7]).buffer],
  ['DataView', new DataView(new Uint8Array([5, 6]).buffer)],
  ['boxed String', Object('boxed')],
  ['boxed Number', Object(7)],
  ['Error', new Error('boom')],
  ['object with undefined field', { a: undefined, b: null }],
];

describe('data integrity', () => {
  it(`carries ${VALUES.length} value types one by one`, async () => {
    expect(VALUES.length).toBeGreaterThanOrEqual(31);
    const q = queues.create({ capacityBytes: 1 << 16 });
    for (const [label, value] of VALUES) {
      await q.put(value);
      const back = await q.get();
      if (value instanceof Error) {
        expect(back, label).toBeInstanceOf(Error);
        expect((back as Error).message, label).toBe('boom');
      } else {
        expect(back, label).toStrictEqual(value);
      }
    }
    expect(Object.is(await roundTrip(q, -0), -0)).toBe(true);
    expect(q.empty()).toBe(true);
  });

  it('keeps values intact when many are queued at once (batch)', () => {
    const q = queues.create({ capacityBytes: 1 << 18 });
    const plain = VALUES.filter(([, v]) => !(v instanceof Error)).map(([, v]) => v);
    expect(q.putManyNowait(plain)).toBe(plain.length);
    expect(q.getManyNowait(1000)).toStrictEqual(plain);
  });

  it('does not alias a later message: a received Buffer keeps its bytes', () => {
    const q = queues.create<Buffer>({ capacityBytes: 4096 });
    q.putNowait(Buffer.from('first'));
    q.putNowait(Buffer.from('second!'));
    const a = q.getNowait();
    const b = q.getNowait();
    expect(a.toString()).toBe('first');
    expect(b.toString()).toBe('second!');
  });

  it('raw mode carries bytes exactly, including every byte value', () => {
    const q = queues.create<Buffer>({ capacityBytes: 1 << 16, mode: 'raw' });
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    q.putNowait(all);
    q.putNowait(Buffer.alloc(0));
    expect(q.getNowait().equals(all)).toBe(true);
    expect(q.getNowait().length).toBe(0);
    const target = Buffer.alloc(300);
    q.putNowait(all.subarray(10, 20));
    expect(q.getInto(target)).toBe(10);
    expect(target.subarray(0, 10).equals(all.subarray(10, 20))).toBe(true);
  });

  it('raw batches: putManyFrom / getManyInto move records back to back', () => {
    const q = queues.create<Buffer>({ capacityBytes: 1 << 16, mode: 'raw' });
    const data = Buffer.from('aabbbc');
    expect(q.putManyFrom(data, new Uint32Array([2, 3, 1]))).toBe(3);
    const out = Buffer.alloc(64);
    const lens = new Uint32Array(8);
    expect(q.getManyInto(out, lens)).toBe(3);
    expect([...lens.subarray(0, 3)]).toEqual([2, 3, 1]);
    expect(out.subarray(0, 6).toString()).toBe('aabbbc');
    expect(q.getManyInto(out, lens)).toBe(0);
  });
});

async function roundTrip<T>(q: { put(v: T): Promise<void>; get(): Promise<T> }, v: T): Promise<T> {
  await q.put(v);
  return q.get();
}
