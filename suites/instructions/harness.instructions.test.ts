// Instructions per operation of the harness itself: a bootstrap interval over 5,000 samples and
// the HTML report, each beside its native time. Workload: ./workloads/harness.ts.
import { describe, it } from 'vitest';
import { type Counted, countIt, recordDifference, skipReason } from './figures.ts';
import { RESAMPLES } from './workloads/harness.ts';

const counted = new Map<string, Counted>();

describe('harness instruction counts', () => {
  countIt(
    'harness',
    'harness.bootstrap.5000',
    'bootstrap.5000',
    `summarize() of 5,000 samples: a bootstrap interval of the mean, ${RESAMPLES} resamples`,
  );
  countIt(
    'harness',
    'harness.report.html.10figures',
    'report.html.10figures',
    'renderRunHtml() of a run with 10 figures',
    counted,
  );
  countIt(
    'harness',
    'harness.report.html.50figures',
    'report.html.50figures',
    'renderRunHtml() of a run with 50 figures',
    counted,
  );

  it('harness.report.html.figure: one more figure in the HTML report (derived)', async (ctx) => {
    const reason = skipReason('harness.report.html.50figures');
    if (reason) return ctx.skip(reason);
    const big = counted.get('harness.report.html.50figures');
    const small = counted.get('harness.report.html.10figures');
    if (!big || !small) return ctx.skip('the report counts it is derived from did not run');
    await recordDifference(
      'harness.report.html.figure',
      big,
      small,
      40,
      'one figure in the HTML report (row, chart data)',
    );
  });
});
