// The public surface of the harness: suites and systems import only from here.

export { type Profile, profile, resolveProfile, type SuiteCategory } from './config/profile.ts';
export { ERROR_CODES, isRigError, RigError, type RigErrorCode } from './errors.ts';
export { type ClosedLoopOptions, closedLoop, yieldToLoop } from './load/closed-model.ts';
export { type HttpLoadOptions, type HttpLoadResult, httpLoad, recordHttpLoad } from './load/http-load.ts';
export { type BenchResult, microBench, recordBench } from './load/micro-bench.ts';
export { type OpenLoadResult, type OpenLoopOptions, openLoop } from './load/open-model.ts';
export { recordLoad } from './load/record-load.ts';
export type { LoadResult } from './load/types.ts';
export type { Figure, FigureInput, Stats } from './measure/figure.ts';
export { type FigureMeta, recordLatency, recordThroughput } from './measure/helpers.ts';
export { LatencyRecorder } from './measure/latency.ts';
export { recordFigure } from './measure/record.ts';
export { type ResourceResult, ResourceSampler, recordResources } from './measure/resources.ts';
export { mannWhitneyP, type Statistic, seededRandom, summarize } from './measure/stats.ts';
export {
  type CountedWindow,
  ThroughputMeter,
  type ThroughputResult,
  throughputFromCounts,
} from './measure/throughput.ts';
export { convert, formatValue } from './measure/units.ts';
export { generateAllure, loadRun, type RunData, writeReports, writeSiteIndex } from './report/index.ts';
export { targetUrl } from './run/context.ts';
export { progress } from './run/progress.ts';
export { dockerUnavailableReason } from './systems/container-provider.ts';
export { freePort } from './systems/process-provider.ts';
export { REPO_ROOT } from './systems/registry.ts';
export { type StartOptions, startSystem } from './systems/start.ts';
export type {
  ProviderName,
  StartContext,
  StartedSystem,
  StoppedSystem,
  SystemDefinition,
} from './systems/types.ts';
export { defineSystem } from './systems/types.ts';
export { useSystem } from './systems/use-system.ts';
export { Wait, type WaitStrategy } from './systems/wait.ts';
