import type { Figure } from '../../harness/index.ts';

export interface SyntheticFigure {
  id: string;
  centre: number;
  /** Between-run standard deviation: of ln(value) on the log scale, of the value on the linear one. */
  spread: number;
  better: 'higher' | 'lower';
  scale: 'log' | 'linear';
  unit?: string;
}

/** Share of each run's error common to all figures (the machine's state during that run). */
export const SHARED = 0.3;

/**
 * Tails of the run-to-run errors: Student t with 8 degrees of freedom (excess kurtosis 1.5),
 * heavier than the normal the gate's t test assumes.
 */
export const TAIL_DF = 8;

/** Student t with `df` degrees of freedom, scaled to unit variance. */
function studentT(random: () => number, df: number): number {
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
  let chi2 = 0;
  for (let i = 0; i < df; i++) chi2 += normal() ** 2;
  return normal() / Math.sqrt(chi2 / df) / Math.sqrt(df / (df - 2));
}

/**
 * One simulated run: each figure moves by its spread times a heavy-tailed (t, TAIL_DF) error,
 * 30% of it shared by every figure of the run. `slowdown` makes every log-scale figure that much
 * slower (latencies up, rates down); linear figures (growth) are left as they are.
 */
export function syntheticRun(figures: SyntheticFigure[], random: () => number, slowdown: number): Figure[] {
  const shared = studentT(random, TAIL_DF);
  return figures.map((f) => {
    const error = SHARED * shared + Math.sqrt(1 - SHARED ** 2) * studentT(random, TAIL_DF);
    let value: number;
    if (f.scale === 'log') {
      const slow = f.better === 'lower' ? Math.log1p(slowdown) : -Math.log1p(slowdown);
      value = f.centre * Math.exp(f.spread * error + slow);
    } else {
      value = f.centre + f.spread * error;
    }
    return {
      id: f.id,
      system: 'synthetic',
      suite: 'harness',
      value,
      unit: f.unit ?? (f.better === 'lower' ? 'us' : 'ops/s'),
      better: f.better,
      n: 1000,
      method: 'synthetic',
      valid: true,
      runId: 'synthetic',
      profile: 'synthetic',
      at: '2026-12-01T00:00:00Z',
      ...(f.scale === 'linear' ? { scale: 'linear' as const } : {}),
    };
  });
}
