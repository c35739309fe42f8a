// The public surface of the harness: suites and systems import only from here.
export { RigError, isRigError, ERROR_CODES, type RigErrorCode } from './errors.ts';
export { profile, resolveProfile, type Profile, type SuiteCategory } from './config/profile.ts';
export type { Figure, FigureInput, Stats } from './measure/figure.ts';
export { recordFigure } from './measure/record.ts';
export { summarize, mannWhitneyP, type Statistic } from './measure/stats.ts';
export { LatencyRecorder } from './measure/latency.ts';
export { ThroughputMeter, type ThroughputResult } from './measure/throughput.ts';
export { formatValue, convert } from './measure/units.ts';
export { defineSystem } from './systems/types.ts';
export type {
  StartedSystem,
  StoppedSystem,
  SystemDefinition,
  ProviderName,
  StartContext,
} from './systems/types.ts';
