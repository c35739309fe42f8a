// Reporters by name: each is one file; `rig report --format` picks them.
import { writeRunHtml } from './html.ts';
import { writeFiguresJson } from './json.ts';
import { writeGateJunit } from './junit.ts';
import type { RunData } from './run-data.ts';

export type ReportFormat = 'html' | 'json' | 'junit';

export const REPORTERS: Record<ReportFormat, (run: RunData) => string | undefined> = {
  html: writeRunHtml,
  json: writeFiguresJson,
  junit: writeGateJunit,
};

/** Write every file report of a run; one failing reporter does not stop the others. */
export function writeReports(
  run: RunData,
  formats: ReportFormat[] = ['json', 'junit', 'html'],
): {
  written: string[];
  errors: string[];
} {
  const written: string[] = [];
  const errors: string[] = [];
  for (const format of formats) {
    try {
      const file = REPORTERS[format](run);
      if (file) written.push(file);
    } catch (error) {
      errors.push(`${format}: ${(error as Error).message}`);
    }
  }
  return { written, errors };
}

export { generateAllure } from './allure.ts';
export { loadRun, type RunData } from './run-data.ts';
export { writeSiteIndex } from './site.ts';
