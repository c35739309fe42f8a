// Instruction-count workloads of the harness itself (suites/instructions/harness.instructions.test.ts):
// a bootstrap interval over 5,000 samples and the HTML report, through harness/index.ts.
import {
  type Figure,
  operation,
  type RunData,
  renderRunHtml,
  seededRandom,
  summarize,
} from '../../../harness/index.ts';

/** Bootstrap resamples: the smoke profile's setting. */
export const RESAMPLES = 400;

/** A run of `count` latency-like figures, each with stats and a percentile curve. */
function runOf(count: number): RunData {
  const rnd = seededRandom(42);
  const figures: Figure[] = Array.from({ length: count }, (_, k) => {
    const p50 = 10 + rnd() * 90;
    return {
      id: `system${k % 4}.operation${k}.variant.p99`,
      system: `system${k % 4}`,
      suite: 'latency',
      value: p50 * 3,
      unit: 'us',
      better: 'lower',
      n: 10_000,
      stats: {
        n: 10_000,
        min: p50 / 2,
        p50,
        p90: p50 * 2,
        p95: p50 * 2.5,
        p99: p50 * 3,
        max: p50 * 10,
        mean: p50 * 1.2,
        sd: p50 / 3,
        ci95: [p50 * 2.9, p50 * 3.1],
        ciMethod: 'order-statistic',
      },
      method: 'hrtime around one call, closed loop, 1 connection',
      percentiles: [50, 90, 95, 99, 99.9].map((q) => [q, p50 * (1 + q / 50)] as [number, number]),
      valid: k % 7 !== 0,
      ...(k % 7 === 0 ? { invalidReason: 'only 150 samples; the bench profile needs 1000' } : {}),
      runId: '20260101-000000-bench',
      profile: 'bench',
      at: '2026-01-01T00:00:00.000Z',
    };
  });
  return {
    dir: '/nonexistent',
    meta: {
      runId: '20260101-000000-bench',
      profile: 'bench',
      startedAt: '2026-01-01T00:00:00.000Z',
      argv: ['run', '--profile', 'bench'],
      files: [],
      environment: { commit: '0000000', node: 'v20', cpus: 2 },
      tests: { passed: count, failed: 0, skipped: 0, total: count },
    },
    figures,
    rejected: [],
    verdicts: undefined,
  };
}

function html(count: number, n: number) {
  return operation({ setup: () => runOf(count), run: (run) => renderRunHtml(run), n, warmup: 1_000 });
}

export const operations = {
  'bootstrap.5000': operation({
    setup: () => {
      const rnd = seededRandom(7);
      return Float64Array.from({ length: 5_000 }, () => 100 + 50 * rnd() * rnd());
    },
    run: (samples) => summarize(samples, { statistic: 'mean', resamples: RESAMPLES, seed: 1 }),
    n: 1,
    warmup: 5,
  }),
  'report.html.10figures': html(10, 20),
  'report.html.50figures': html(50, 10),
};
