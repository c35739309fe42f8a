import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunData } from './run-data.ts';

/** figures.json: the run's metadata and every figure, for CI systems and dashboards. */
export function writeFiguresJson(run: RunData): string {
  const file = path.join(run.dir, 'figures.json');
  const body = { run: run.meta, figures: run.figures, verdicts: run.verdicts ?? [], rejected: run.rejected };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
