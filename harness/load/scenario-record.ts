import type { Figure, FigureInput } from '../measure/figure.ts';
import type { FigureMeta } from '../measure/helpers.ts';
import { recordFigure } from '../measure/record.ts';
import type { ScenarioResult, StageResult } from './scenario.ts';
import type { EndpointStats } from './scenario-stats.ts';

/**
 * Figure-id segments for endpoint labels: `GET /health` -> `health`, `POST /v1/chat/completions`
 * -> `v1-chat-completions`, `GET /` -> `root`; the method is prefixed (`get-items`, `post-items`)
 * only where two labels share a path. A label that is no `METHOD /path` is slugged whole.
 */
export function endpointSlugs(labels: readonly string[]): Map<string, string> {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9_+]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'root';
  const parts = labels.map((label) => {
    const m = /^([A-Za-z]+) (\/\S*)$/.exec(label);
    return { label, method: m ? m[1]!.toLowerCase() : undefined, path: slug(m ? m[2]! : label) };
  });
  const byPath = new Map<string, number>();
  for (const p of parts) byPath.set(p.path, (byPath.get(p.path) ?? 0) + 1);
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const p of parts) {
    let s = byPath.get(p.path)! > 1 && p.method ? `${p.method}-${p.path}` : p.path;
    for (let i = 2; taken.has(s); i++) s = `${p.path}-${i}`;
    taken.add(s);
    out.set(p.label, s);
  }
  return out;
}

type Base = Pick<FigureInput, 'method' | 'labels' | 'system' | 'valid' | 'invalidReason'>;

function failuresText(s: EndpointStats): string {
  if (s.failures === 0) return '';
  const kinds = Object.entries(s.failureKinds)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `; ${s.failures} failed (${kinds}); first errors: ${s.errorSamples.join(' | ')}`;
}

/** p50/p95/p99 (and the mean when asked) of the successful requests; 0 and invalid when there were none. */
async function latencyFigures(
  prefix: string,
  s: EndpointStats,
  base: Base,
  extra: { mean?: boolean; p95Series?: FigureInput['series']; chart?: Record<string, string> } = {},
): Promise<Figure[]> {
  const figures: Figure[] = [];
  const statistics = extra.mean ? (['p50', 'p95', 'p99', 'mean'] as const) : (['p50', 'p95', 'p99'] as const);
  for (const statistic of statistics) {
    if (s.latency.n === 0) {
      figures.push(
        await recordFigure({
          ...base,
          id: `${prefix}.${statistic}`,
          value: 0,
          unit: 'ms',
          better: 'lower',
          n: 0,
          valid: false,
          invalidReason: base.invalidReason ?? 'no request succeeded',
        }),
      );
      continue;
    }
    const stats = s.latency.stats(statistic);
    const series = statistic === 'p95' && extra.p95Series ? extra.p95Series : undefined;
    figures.push(
      await recordFigure({
        ...base,
        id: `${prefix}.${statistic}`,
        value: stats[statistic],
        unit: 'ms',
        better: 'lower',
        n: stats.n,
        stats,
        ...(statistic === 'mean' ? {} : { percentiles: s.latency.percentileCurve() }),
        ...(series ? { series, labels: { ...base.labels, ...extra.chart, series: 'p95 (ms)' } } : {}),
      }),
    );
  }
  return figures;
}

async function rateFigure(
  id: string,
  s: EndpointStats,
  base: Base,
  series?: { points: Array<[number, number]>; labels: Record<string, string> },
): Promise<Figure> {
  const t = s.throughput;
  return recordFigure({
    ...base,
    id,
    value: t.rate,
    unit: 'req/s',
    better: 'higher',
    n: t.count,
    stats: { ...t.stats, ciMethod: t.stats.n < 2 ? 'none' : t.stats.ciMethod },
    ...(series && series.points.length > 1
      ? { series: series.points, labels: { ...base.labels, ...series.labels } }
      : {}),
  });
}

function successRate(s: EndpointStats): number {
  return s.requests > 0 ? (100 * (s.requests - s.failures)) / s.requests : 0;
}

/**
 * A scenario result as figures, through the harness (each validated, judged for validity and
 * attached to the Allure test):
 * - `${prefix}.success_rate`, `.requests`, `.p50/.p95/.p99`, `.throughput` over the whole run, and
 *   the time series on `.p95` (p95 per bucket), `.throughput` (RPS), `.users.max` (active users)
 *   and `.failures` (failures per bucket), labelled `chart: "<prefix> over time"` so that the HTML
 *   report draws them as one chart;
 * - per endpoint label, `${prefix}.<slug>.{p50,p95,p99,mean,throughput,error_rate,requests}`
 *   (slugs: endpointSlugs), the throughputs drawn together as "<prefix> requests/s by endpoint";
 * - per stage, over its sustained window only, `${prefix}.stage<N>.{success_rate,requests,p50,p95,
 *   p99,throughput,users}` with N from 1.
 * An invalid run (aborted, driver late, nothing measured) marks every figure invalid with the reason.
 */
export async function recordScenario(
  prefix: string,
  result: ScenarioResult,
  meta: FigureMeta,
): Promise<Figure[]> {
  const validity = result.valid ? {} : { valid: false, invalidReason: result.invalidReason ?? 'invalid run' };
  const base = (method: string, labels?: Record<string, string>): Base => ({
    method: `${meta.method}; ${method}`,
    ...(meta.system ? { system: meta.system } : {}),
    ...(meta.labels || labels ? { labels: { ...meta.labels, ...labels } } : {}),
    ...(meta.valid === false ? { valid: false, invalidReason: meta.invalidReason ?? 'marked invalid' } : {}),
    ...validity,
  });
  const figures: Figure[] = [];
  const { overall } = result;
  const chart = { chart: `${prefix} over time` };
  const bucket = result.series;
  const run = `whole run (${(result.elapsedMs / 1000).toFixed(1)} s, ramps included), ${result.users.spawned} users spawned, peak ${result.users.peak}`;
  // The success rate first: when nothing else could be measured, it is the news.
  figures.push(
    await recordFigure({
      ...base(`${run}${failuresText(overall)}`),
      id: `${prefix}.success_rate`,
      value: successRate(overall),
      unit: '%',
      better: 'higher',
      n: overall.requests,
    }),
    await recordFigure({
      ...base(run),
      id: `${prefix}.requests`,
      value: overall.requests,
      unit: 'req',
      better: 'higher',
      n: overall.requests,
    }),
  );
  figures.push(
    ...(await latencyFigures(prefix, overall, base(`${run}; successful requests, all endpoints`), {
      p95Series: bucket.flatMap(
        (b): Array<[number, number]> => (b.p95Ms === undefined ? [] : [[b.atMs, b.p95Ms]]),
      ),
      chart,
    })),
    await rateFigure(
      `${prefix}.throughput`,
      overall,
      base(`${run}; requests per second, failures included`),
      {
        points: bucket.map((b) => [b.atMs, b.rps]),
        labels: { ...chart, series: 'requests/s' },
      },
    ),
    await recordFigure({
      ...base(`${run}; most users active at once (series: per bucket)`, { ...chart, series: 'active users' }),
      id: `${prefix}.users.max`,
      value: result.users.peak,
      unit: 'users',
      better: 'higher',
      n: result.users.spawned,
      ...(bucket.length > 1 ? { series: bucket.map((b): [number, number] => [b.atMs, b.users]) } : {}),
    }),
    await recordFigure({
      ...base(`${run}; failed requests (series: per bucket)${failuresText(overall)}`, {
        ...chart,
        series: 'failures',
      }),
      id: `${prefix}.failures`,
      value: overall.failures,
      unit: 'req',
      better: 'lower',
      n: overall.requests,
      ...(bucket.length > 1 ? { series: bucket.map((b): [number, number] => [b.atMs, b.failures]) } : {}),
    }),
  );
  const slugs = endpointSlugs(result.endpoints.map((e) => e.label));
  for (const endpoint of result.endpoints) {
    const id = `${prefix}.${slugs.get(endpoint.label)}`;
    const labels = { endpoint: endpoint.label };
    const method = `${run}; ${endpoint.label}`;
    figures.push(
      await recordFigure({
        ...base(`${method}${failuresText(endpoint)}`, labels),
        id: `${id}.error_rate`,
        value: 100 - successRate(endpoint),
        unit: '%',
        better: 'lower',
        n: endpoint.requests,
      }),
      await recordFigure({
        ...base(method, labels),
        id: `${id}.requests`,
        value: endpoint.requests,
        unit: 'req',
        better: 'higher',
        n: endpoint.requests,
      }),
      ...(await latencyFigures(id, endpoint, base(`${method}; successful requests`, labels), { mean: true })),
      await rateFigure(`${id}.throughput`, endpoint, base(`${method}; requests per second`, labels), {
        points: endpoint.throughput.series,
        labels: { chart: `${prefix} requests/s by endpoint`, series: endpoint.label },
      }),
    );
  }
  for (const stage of result.stages) figures.push(...(await recordStage(prefix, stage, base)));
  return figures;
}

async function recordStage(
  prefix: string,
  stage: StageResult,
  base: (method: string, labels?: Record<string, string>) => Base,
): Promise<Figure[]> {
  const id = `${prefix}.stage${stage.index + 1}`;
  const holdS = (stage.endMs - stage.holdStartMs) / 1000;
  const classes = Object.entries(stage.usersByClass)
    .map(([name, n]) => `${n} ${name}`)
    .join(', ');
  const method = `stage ${stage.index + 1}: ${stage.users} users (${classes}; ${stage.usersSeen} made requests), measured over its ${holdS.toFixed(1)} s sustained window only`;
  const labels = { stage: String(stage.index + 1), users: String(stage.users) };
  const { overall } = stage;
  return [
    await recordFigure({
      ...base(`${method}${failuresText(overall)}`, labels),
      id: `${id}.success_rate`,
      value: successRate(overall),
      unit: '%',
      better: 'higher',
      n: overall.requests,
    }),
    await recordFigure({
      ...base(method, labels),
      id: `${id}.requests`,
      value: overall.requests,
      unit: 'req',
      better: 'higher',
      n: overall.requests,
    }),
    await recordFigure({
      ...base(`${method}; users running when the window began`, labels),
      id: `${id}.users`,
      value: stage.usersReached,
      unit: 'users',
      better: 'higher',
      n: stage.usersReached,
    }),
    ...(await latencyFigures(id, overall, base(`${method}; successful requests`, labels))),
    await rateFigure(`${id}.throughput`, overall, base(`${method}; requests per second`, labels)),
  ];
}
