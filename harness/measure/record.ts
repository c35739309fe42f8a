import { appendFileSync } from 'node:fs';
import path from 'node:path';
import * as allure from 'allure-js-commons';
import { profile } from '../config/profile.ts';
import { textLines } from '../config/text-file.ts';
import { formatZodIssues } from '../config/zod-error.ts';
import { RigError } from '../errors.ts';
import { runContext } from '../run/context.ts';
import { categoryOf } from '../run/select.ts';
import { type Figure, type FigureInput, FigureInputSchema, FigureSchema } from './figure.ts';
import { timerCostNs } from './timer.ts';
import { convert, formatValue, unitInfo } from './units.ts';

/**
 * A rate (`<noun>/s`, better 'higher') summarises per-interval rates: with fewer intervals than
 * this it has no spread to show, however many operations it counted.
 */
export const MIN_RATE_INTERVALS = 5;

/** A latency timed per call must be at least this many times the cost of the clock that timed it. */
export const TIMER_FLOOR_FACTOR = 5;

const STATISTIC = /^(p\d+|mean|min|max|median)$/;

function dimension(unit: string): string | undefined {
  try {
    return unitInfo(unit).dimension;
  } catch {
    return undefined;
  }
}

const ns = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(2));

/**
 * The run-validity rules a recorded figure must pass; one reason per broken rule.
 * - A rate counts its measured intervals (stats.n) against MIN_RATE_INTERVALS.
 * - Any other figure with a distribution counts its samples (figure.n) against the profile's
 *   minSamples, unless it has no interval at all (ciMethod 'none', e.g. a single value).
 * - A latency (time unit, better 'lower') timed per call within TIMER_FLOOR_FACTOR x the timer's
 *   cost measures the clock. `labels.timing` says how it was timed: `per-call` (the default),
 *   `amortised` (one clock read around a batch, divided by its size) or `clock` (the timer's own
 *   cost); only `per-call` is judged against the floor, and never a signed difference of two
 *   timings (`scale: 'linear'`, such as an overhead).
 */
export function validityProblems(
  figure: Pick<Figure, 'id' | 'value' | 'unit' | 'better' | 'n' | 'stats' | 'labels' | 'profile' | 'scale'>,
  rules: { minSamples: number; timerCostNs: () => number },
): string[] {
  const { stats } = figure;
  if (!stats) return [];
  const problems: string[] = [];
  const kind = dimension(figure.unit);
  const isRate = (kind === 'rate' || kind === 'byte-rate') && figure.better === 'higher';
  if (isRate) {
    if (stats.n < MIN_RATE_INTERVALS) {
      problems.push(
        `only ${stats.n} measured intervals; a rate needs at least ${MIN_RATE_INTERVALS} to show its spread (${figure.n} operations counted)`,
      );
    }
  } else if (figure.n < rules.minSamples && stats.ciMethod !== 'none') {
    problems.push(`only ${figure.n} samples; the ${figure.profile} profile needs ${rules.minSamples}`);
  }
  const timing = figure.labels?.timing ?? 'per-call';
  // A signed difference of two timings (an overhead, `scale: 'linear'`) is not one timed call.
  if (kind === 'time' && figure.better === 'lower' && timing === 'per-call' && figure.scale !== 'linear') {
    const valueNs = convert(figure.value, figure.unit, 'ns');
    const costNs = rules.timerCostNs();
    if (valueNs < TIMER_FLOOR_FACTOR * costNs) {
      const last = figure.id.slice(figure.id.lastIndexOf('.') + 1);
      const statistic = STATISTIC.test(last) ? last : 'value';
      problems.push(
        `${statistic} ${ns(valueNs)} ns is within ${TIMER_FLOOR_FACTOR}x the timer's own cost (${ns(costNs)} ns): timed per call, it measures the clock; time a batch and label it timing: amortised`,
      );
    }
  }
  return problems;
}

/**
 * The current test, when a figure is recorded inside one: vitest's, or in a Playwright worker
 * (TEST_WORKER_INDEX is set there) @playwright/test's, named like vitest names it (`a > b`).
 */
async function currentTest(): Promise<{ name?: string; file?: string }> {
  if (process.env.VITEST) {
    const { expect } = await import('vitest');
    const state = expect.getState();
    return { name: state.currentTestName, file: state.testPath };
  }
  if (process.env.TEST_WORKER_INDEX !== undefined) {
    try {
      const { test } = await import('@playwright/test');
      const info = test.info();
      return { name: info.titlePath.slice(1).join(' > '), file: info.file };
    } catch {
      return {}; // outside a test (a worker-scoped hook): the figure has no test
    }
  }
  return {};
}

/**
 * `suites/latency/inference.latency.test.ts` -> `latency`; `suites/browser/x.spec.ts` -> `e2e`;
 * `systems/queue/test/x.test.ts` -> `unit`.
 */
function suiteFromPath(file: string | undefined): string {
  if (!file) return 'adhoc';
  const rel = path.relative(process.cwd(), file).split(path.sep).join('/');
  return categoryOf(rel);
}

/**
 * Record one measured number with its evidence. Validates the figure, applies the run-validity
 * rules (validityProblems: too few samples or intervals, a per-call latency at the timer's floor
 * -> invalid, with the reason), appends it to the run's figures.jsonl and attaches it to
 * the current Allure test as parameters and a JSON attachment. Returns the stored figure.
 */
export async function recordFigure(input: FigureInput): Promise<Figure> {
  const parsed = FigureInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new RigError('RIG_FIGURE_INVALID', `figure ${String(input.id)}: ${formatZodIssues(parsed.error)}`);
  }
  const run = runContext();
  const test = await currentTest();
  const reference = parsed.data.reference;
  const figure: Figure = FigureSchema.parse({
    ...parsed.data,
    ...(reference
      ? {
          reference: {
            ...reference,
            ratio: reference.ratio ?? (reference.value !== 0 ? parsed.data.value / reference.value : 0),
          },
        }
      : {}),
    system: parsed.data.system ?? parsed.data.id.split('.')[0],
    suite: parsed.data.suite ?? suiteFromPath(test.file),
    runId: run.runId,
    profile: run.profile,
    ...(test.name ? { test: test.name } : {}),
    at: new Date().toISOString(),
  });
  if (figure.valid) {
    const problems = validityProblems(figure, { minSamples: profile().minSamples, timerCostNs });
    if (problems.length > 0) {
      figure.valid = false;
      figure.invalidReason = problems.join('; ');
    }
  }
  appendFileSync(run.figuresFile, `${JSON.stringify(figure)}\n`);
  if (test.name) await attachToAllure(figure);
  return figure;
}

async function attachToAllure(figure: Figure): Promise<void> {
  const shown = formatValue(figure.value, figure.unit);
  const ci = figure.stats
    ? ` [${formatValue(figure.stats.ci95[0], figure.unit)}, ${formatValue(figure.stats.ci95[1], figure.unit)}]`
    : '';
  await allure.parameter(figure.id, `${shown}${ci} n=${figure.n}${figure.valid ? '' : ' INVALID'}`);
  await allure.attachment(`figure ${figure.id}`, JSON.stringify(figure, null, 2), 'application/json');
}

/** Read a run's figures.jsonl; a torn last line (a killed worker) is reported, not fatal. */
export function parseFiguresJsonl(text: string): { figures: Figure[]; rejected: string[] } {
  const figures: Figure[] = [];
  const rejected: string[] = [];
  for (const line of textLines(text)) {
    if (!line.trim()) continue;
    try {
      figures.push(FigureSchema.parse(JSON.parse(line)));
    } catch (error) {
      rejected.push(`${line.slice(0, 80)}: ${(error as Error).message.slice(0, 200)}`);
    }
  }
  return { figures, rejected };
}
