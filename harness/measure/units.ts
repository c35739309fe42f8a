import { RigError } from '../errors.ts';

/** A unit belongs to one dimension and converts to that dimension's base by a factor. */
interface UnitInfo {
  dimension: 'time' | 'rate' | 'bytes' | 'byte-rate' | 'ratio' | 'percent' | 'count' | 'memory-rate';
  factor: number;
}

const TIME: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1 };
const BYTES: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** Count-per-second rates: any noun before `/s` (msg/s, req/s, ops/s, tok/s, deliveries/s). */
const RATE_PREFIX: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9 };

export function unitInfo(unit: string): UnitInfo {
  const u = unit.trim();
  if (u in TIME) return { dimension: 'time', factor: TIME[u]! };
  if (u in BYTES) return { dimension: 'bytes', factor: BYTES[u]! };
  if (u === '%') return { dimension: 'percent', factor: 1 };
  if (u === 'x' || u === 'ratio') return { dimension: 'ratio', factor: 1 };
  if (u === '' || u === 'count' || u === 'n') return { dimension: 'count', factor: 1 };
  const slash = /^(.*)\/s$/.exec(u);
  if (slash) {
    const head = slash[1]!;
    if (head in BYTES) return { dimension: 'byte-rate', factor: BYTES[head]! };
    const prefixed = /^([KMG]?)\s*([a-zA-Z_-]*)$/.exec(head);
    if (prefixed) return { dimension: 'rate', factor: RATE_PREFIX[prefixed[1]!] ?? 1 };
  }
  // Any other noun is a count of that noun (messages, tokens, bytes-held ...).
  if (/^[a-zA-Z_-]+$/.test(u)) return { dimension: 'count', factor: 1 };
  throw new RigError('RIG_UNIT_MISMATCH', `unknown unit "${unit}"`);
}

/** Convert `value` from unit `from` to unit `to`; both must share a dimension. */
export function convert(value: number, from: string, to: string): number {
  const a = unitInfo(from);
  const b = unitInfo(to);
  if (a.dimension !== b.dimension) {
    throw new RigError(
      'RIG_UNIT_MISMATCH',
      `cannot compare ${from} (${a.dimension}) with ${to} (${b.dimension})`,
    );
  }
  return (value * a.factor) / b.factor;
}

/** Human formatting with an SI-ish scale: 1234567 msg/s -> "1.23M msg/s", 0.0000042 s -> "4.20 µs". */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`;
  const info = safeInfo(unit);
  if (info?.dimension === 'time') {
    const seconds = value * info.factor;
    const abs = Math.abs(seconds);
    if (abs >= 1) return `${fmt(seconds)} s`;
    if (abs >= 1e-3) return `${fmt(seconds * 1e3)} ms`;
    if (abs >= 1e-6) return `${fmt(seconds * 1e6)} µs`;
    return `${fmt(seconds * 1e9)} ns`;
  }
  if (info?.dimension === 'bytes' || info?.dimension === 'byte-rate') {
    const bytes = value * info.factor;
    const suffix = info.dimension === 'byte-rate' ? '/s' : '';
    const abs = Math.abs(bytes);
    if (/iB/.test(unit)) {
      if (abs >= 1024 ** 3) return `${fmt(bytes / 1024 ** 3)} GiB${suffix}`;
      if (abs >= 1024 ** 2) return `${fmt(bytes / 1024 ** 2)} MiB${suffix}`;
      if (abs >= 1024) return `${fmt(bytes / 1024)} KiB${suffix}`;
    }
    if (abs >= 1e9) return `${fmt(bytes / 1e9)} GB${suffix}`;
    if (abs >= 1e6) return `${fmt(bytes / 1e6)} MB${suffix}`;
    if (abs >= 1e3) return `${fmt(bytes / 1e3)} KB${suffix}`;
    return `${fmt(bytes)} B${suffix}`;
  }
  const abs = Math.abs(value);
  const space = unit ? ` ${unit}` : '';
  if (abs >= 1e9) return `${fmt(value / 1e9)}G${space}`;
  if (abs >= 1e6) return `${fmt(value / 1e6)}M${space}`;
  if (abs >= 1e4) return `${fmt(value / 1e3)}K${space}`;
  return `${fmt(value)}${space}`;
}

function safeInfo(unit: string): UnitInfo | undefined {
  try {
    return unitInfo(unit);
  } catch {
    return undefined;
  }
}

function fmt(n: number): string {
  const abs = Math.abs(n);
  if (abs === 0) return '0';
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}
