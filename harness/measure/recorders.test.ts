import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import { runContext } from '../run/context.ts';
import type { Stats } from './figure.ts';
import { LatencyRecorder } from './latency.ts';
import {
  MIN_RATE_INTERVALS,
  parseFiguresJsonl,
  recordFigure,
  TIMER_FLOOR_FACTOR,
  validityProblems,
} from './record.ts';
import { ResourceSampler } from './resources.ts';
import { summarize } from './stats.ts';
import { ThroughputMeter } from './throughput.ts';
import { timerCostNs } from './timer.ts';

// Figures of these tests go to a throwaway run, not the run that is testing the harness.
const runDir = mkdtempSync(path.join(os.tmpdir(), 'rig-recorders-'));
process.env.RIG_RUN_DIR = runDir;
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

describe('LatencyRecorder', () => {
  it('reports percentiles in its unit with bootstrap intervals for small samples', () => {
    const rec = new LatencyRecorder({ unit: 'us' });
    for (let i = 1; i <= 1000; i++) rec.record(i * 1000); // 1..1000 us
    const s = rec.stats('p99');
    expect(s.n).toBe(1000);
    expect(s.p50).toBeCloseTo(500.5, 0);
    expect(s.p99).toBeCloseTo(990, -1);
    expect(s.ciMethod).toBe('bootstrap');
    expect(s.ci95[0]).toBeLessThanOrEqual(s.p99);
    expect(s.ci95[1]).toBeGreaterThanOrEqual(s.p99);
  });

  it('switches to the HDR histogram and order-statistic intervals for large samples', () => {
    const rec = new LatencyRecorder({ unit: 'ms' });
    for (let i = 0; i < 50_000; i++) rec.record(1e6 + (i % 1000) * 1e3); // 1..2 ms
    const s = rec.stats('p50');
    expect(s.ciMethod).toBe('order-statistic');
    expect(s.p50).toBeGreaterThan(1.45);
    expect(s.p50).toBeLessThan(1.55);
    expect(s.max).toBeCloseTo(2, 1);
    const other = new LatencyRecorder({ unit: 'ms' });
    other.record(5e6);
    rec.merge(other);
    expect(rec.n).toBe(50_001);
    expect(rec.percentileCurve().at(-1)![1]).toBeCloseTo(5, 1);
  });
});

describe('ThroughputMeter', () => {
  it('counts operations and bytes per interval', async () => {
    const meter = new ThroughputMeter({ intervalMs: 20 }).start();
    for (let i = 0; i < 5; i++) {
      meter.add(10, 640);
      await new Promise((r) => setTimeout(r, 25));
    }
    const r = meter.stop();
    expect(r.count).toBe(50);
    expect(r.bytes).toBe(3200);
    expect(r.rate).toBeGreaterThan(0);
    expect(r.byteRate / r.rate).toBeCloseTo(64, 5);
    expect(r.series.length).toBeGreaterThanOrEqual(4);
    expect(r.series.reduce((a, [, v]) => a + (v * 20) / 1000, 0)).toBeLessThanOrEqual(50);
  });
});

describe('ResourceSampler', () => {
  it('samples a child process by pid from /proc', async () => {
    const child = spawn(process.execPath, [
      '-e',
      'const a=[];const t=setInterval(()=>a.push(Buffer.alloc(1<<20,1)),5);setTimeout(()=>{clearInterval(t)},400);setTimeout(()=>{},800)',
    ]);
    try {
      const sampler = new ResourceSampler({ pid: child.pid!, intervalMs: 50 }).start();
      await new Promise((r) => setTimeout(r, 500));
      const r = sampler.stop();
      expect(r.samples.length).toBeGreaterThanOrEqual(5);
      const rss = r.samples.map((s) => s.rssMiB);
      expect(Math.max(...rss)).toBeGreaterThan(rss[0]!);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('recordFigure', () => {
  it('appends a validated figure with run metadata and marks too-small samples invalid', async () => {
    const f = await recordFigure({
      id: 'selftest.record.tiny.p50',
      value: 3,
      unit: 'us',
      better: 'lower',
      n: 3,
      method: 'unit test',
      stats: {
        n: 3,
        min: 1,
        p50: 3,
        p90: 4,
        p95: 4,
        p99: 4,
        max: 4,
        mean: 3,
        sd: 1,
        ci95: [1, 4],
        ciMethod: 'bootstrap',
      },
    });
    expect(f.system).toBe('selftest');
    expect(f.suite).toBe('unit');
    expect(f.valid).toBe(false);
    expect(f.invalidReason).toMatch(/only 3 samples/);
    const lines = readFileSync(runContext().figuresFile, 'utf8').trim().split('\n');
    expect(lines.some((l) => l.includes('selftest.record.tiny.p50'))).toBe(true);
  });

  it('computes the ratio to a reference and rejects malformed figures with a typed error', async () => {
    const f = await recordFigure({
      id: 'selftest.ref.x',
      value: 10,
      unit: 'ops/s',
      better: 'higher',
      n: 1,
      method: 'm',
      reference: { id: 'selftest.ref.base', value: 4 },
    });
    expect(f.reference?.ratio).toBe(2.5);
    await expect(
      recordFigure({ id: 'Bad Id', value: 1, unit: 'x', better: 'lower', n: 1, method: 'm' }),
    ).rejects.toBeInstanceOf(RigError);
    await expect(
      recordFigure({ id: 'selftest.nan', value: Number.NaN, unit: 'x', better: 'lower', n: 1, method: 'm' }),
    ).rejects.toThrow(/selftest.nan: value/);
  });

  it('reads figures.jsonl, reporting a torn last line instead of failing', () => {
    const good = JSON.stringify({
      id: 'a.b',
      system: 'a',
      suite: 's',
      value: 1,
      unit: 'us',
      better: 'lower',
      n: 1,
      method: 'm',
      valid: true,
      runId: 'r',
      profile: 'smoke',
      at: 'now',
    });
    const { figures, rejected } = parseFiguresJsonl(`${good}\n{"id":"a.c","val`);
    expect(figures).toHaveLength(1);
    expect(rejected).toHaveLength(1);
  });
});

describe('validity rules', () => {
  const rules = { minSamples: 200, timerCostNs: () => 40 };
  const stats = (n: number, ciMethod: Stats['ciMethod'] = 'bootstrap'): Stats => ({
    ...summarize(Array.from({ length: n }, (_, i) => 1000 + i)),
    ciMethod,
  });
  const rate = (intervals: number, operations: number) => ({
    id: 'selftest.rule.throughput',
    value: 1e6,
    unit: 'ops/s',
    better: 'higher' as const,
    n: operations,
    stats: stats(intervals, intervals < 2 ? 'none' : 't'),
    profile: 'smoke',
  });

  it('judges a rate by its measured intervals, not by the operations it counted', () => {
    expect(validityProblems(rate(MIN_RATE_INTERVALS - 2, 1_000_000), rules)).toEqual([
      `only ${MIN_RATE_INTERVALS - 2} measured intervals; a rate needs at least ${MIN_RATE_INTERVALS} to show its spread (1000000 operations counted)`,
    ]);
    // One interval has no interval estimate at all (ciMethod 'none'): still too few.
    expect(validityProblems(rate(1, 1_000_000), rules)[0]).toMatch(/only 1 measured intervals/);
    // Few operations but enough intervals: the profile's minSamples does not apply to rates.
    expect(validityProblems(rate(MIN_RATE_INTERVALS, 50), rules)).toEqual([]);
  });

  it('keeps counting samples for latencies', () => {
    const latency = (n: number) => ({
      id: 'selftest.rule.p50',
      value: 5,
      unit: 'us',
      better: 'lower' as const,
      n,
      stats: stats(n),
      profile: 'smoke',
    });
    expect(validityProblems(latency(150), rules)).toEqual(['only 150 samples; the smoke profile needs 200']);
    expect(validityProblems(latency(200), rules)).toEqual([]);
  });

  it(`marks a per-call latency within ${TIMER_FLOOR_FACTOR}x the timer's cost invalid, unless amortised`, () => {
    const fast = {
      id: 'selftest.rule.get.p50',
      value: 0.048,
      unit: 'us',
      better: 'lower' as const,
      n: 1000,
      stats: stats(1000),
      profile: 'smoke',
    };
    const [why] = validityProblems(fast, rules);
    expect(why).toMatch(
      /^p50 48 ns is within 5x the timer's own cost \(40 ns\): timed per call, it measures the clock/,
    );
    expect(validityProblems({ ...fast, labels: { timing: 'amortised' } }, rules)).toEqual([]);
    // A difference of two timings (an overhead) is not a timed call.
    expect(validityProblems({ ...fast, scale: 'linear' }, rules)).toEqual([]);
    expect(validityProblems({ ...fast, value: 0.25 }, rules)).toEqual([]); // 250 ns: clear of 5 x 40 ns
    // Not a latency: a rate or a count in the same range is not judged against the clock.
    expect(validityProblems({ ...fast, unit: 'count' }, rules)).toEqual([]);
    // Without a distribution there is nothing timed per call to judge.
    const { stats: _stats, ...single } = fast;
    expect(validityProblems(single, rules)).toEqual([]);
  });

  it('applies the floor in recordFigure with the cost measured in this process', async () => {
    const cost = timerCostNs();
    expect(cost).toBeGreaterThan(0);
    expect(timerCostNs()).toBe(cost); // cached: one number per process
    const f = await recordFigure({
      id: 'selftest.floor.get.p50',
      value: cost,
      unit: 'ns',
      better: 'lower',
      n: 1000,
      stats: stats(1000),
      method: 'unit test',
    });
    expect(f.valid).toBe(false);
    expect(f.invalidReason).toMatch(/within 5x the timer's own cost/);
  });
});
