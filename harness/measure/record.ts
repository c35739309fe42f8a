import { appendFileSync } from 'node:fs';
import path from 'node:path';
import * as allure from 'allure-js-commons';
import { profile } from '../config/profile.ts';
import { formatZodIssues } from '../config/zod-error.ts';
import { RigError } from '../errors.ts';
import { runContext } from '../run/context.ts';
import { type Figure, type FigureInput, FigureInputSchema, FigureSchema } from './figure.ts';
import { formatValue } from './units.ts';

/** vitest's current test, when a figure is recorded inside one. */
async function currentTest(): Promise<{ name?: string; file?: string }> {
  if (!process.env.VITEST) return {};
  const { expect } = await import('vitest');
  const state = expect.getState();
  return { name: state.currentTestName, file: state.testPath };
}

/** `suites/latency/inference.latency.test.ts` -> `latency`; `systems/queue/test/x.test.ts` -> `unit`. */
function suiteFromPath(file: string | undefined): string {
  if (!file) return 'adhoc';
  const rel = path.relative(process.cwd(), file).split(path.sep);
  if (rel[0] === 'suites' && rel[1]) return rel[1];
  return 'unit';
}

/**
 * Record one measured number with its evidence. Validates the figure, applies the run-validity
 * rules (too few samples -> invalid), appends it to the run's figures.jsonl and attaches it to
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
  const minSamples = profile().minSamples;
  if (figure.valid && figure.stats && figure.n < minSamples && figure.stats.ciMethod !== 'none') {
    figure.valid = false;
    figure.invalidReason = `only ${figure.n} samples; the ${figure.profile} profile needs ${minSamples}`;
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
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      figures.push(FigureSchema.parse(JSON.parse(line)));
    } catch (error) {
      rejected.push(`${line.slice(0, 80)}: ${(error as Error).message.slice(0, 200)}`);
    }
  }
  return { figures, rejected };
}
