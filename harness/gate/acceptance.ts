import type { RunData } from '../report/run-data.ts';
import { evaluateGate } from './evaluate.ts';
import type { ThresholdRule } from './thresholds.ts';

/**
 * Why a run may not become a baseline: failed tests, threshold breaches or an injected slowdown.
 * An empty list means it may. A baseline taken from a broken run would make the gate pass the
 * breakage forever after.
 */
export function baselineRefusals(run: RunData, rules: ThresholdRule[]): string[] {
  const reasons: string[] = [];
  if (run.meta.injected) reasons.push(`it ran with an injected slowdown of ${run.meta.injected.slowdown}`);
  const failed = run.meta.tests?.failed ?? 0;
  if (failed > 0) reasons.push(`${failed} test${failed === 1 ? '' : 's'} failed`);
  else if (
    run.meta.vitestExitCode !== undefined &&
    run.meta.vitestExitCode !== null &&
    run.meta.vitestExitCode !== 0
  )
    reasons.push(`vitest exited with ${run.meta.vitestExitCode}`);
  else if (
    run.meta.playwrightExitCode !== undefined &&
    run.meta.playwrightExitCode !== null &&
    run.meta.playwrightExitCode !== 0
  )
    reasons.push(`@playwright/test exited with ${run.meta.playwrightExitCode}`);
  else if (!run.meta.tests) reasons.push('it has no test results (the run crashed or is still running)');
  const breaches = evaluateGate(run.figures, rules, undefined, {
    profile: run.meta.profile,
    tolerance: 0,
  }).verdicts.filter((v) => v.state === 'breach');
  if (breaches.length > 0)
    reasons.push(
      `${breaches.length} threshold breach${breaches.length === 1 ? '' : 'es'} (${breaches
        .slice(0, 3)
        .map((v) => v.id)
        .join(', ')}${breaches.length > 3 ? ', ...' : ''})`,
    );
  return reasons;
}
