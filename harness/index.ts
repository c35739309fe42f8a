// The public surface of the harness: suites and systems import only from here.

export { type Check, formatChecks, type MachineFacts, machineChecks } from './cli/doctor.ts';
export { type Profile, profile, resolveProfile, type SuiteCategory } from './config/profile.ts';
export { ERROR_CODES, isRigError, RigError, type RigErrorCode } from './errors.ts';
export { BaselineSchema } from './gate/baseline.ts';
export { type CalibrationRun, calibrateBaseline } from './gate/calibrate.ts';
export { evaluateGate, type GateResult, type Verdict } from './gate/evaluate.ts';
export { type ClosedLoopOptions, closedLoop, yieldToLoop } from './load/closed-model.ts';
export { type HttpLoadOptions, type HttpLoadResult, httpLoad, recordHttpLoad } from './load/http-load.ts';
export { type BenchResult, microBench, recordBench } from './load/micro-bench.ts';
export { type OpenLoadResult, type OpenLoopOptions, openLoop } from './load/open-model.ts';
export { recordLoad } from './load/record-load.ts';
export { runScenario, type ScenarioResult, type StageResult } from './load/scenario.ts';
export {
  type ScenarioContext,
  type ScenarioHttp,
  ScenarioRequestError,
  type ScenarioRequestOptions,
  type ScenarioResponse,
} from './load/scenario-client.ts';
export {
  parseScenario,
  SCENARIO_DEFAULTS,
  type ScenarioOptions,
  type ScenarioTaskFn,
} from './load/scenario-config.ts';
export { endpointSlugs, recordScenario } from './load/scenario-record.ts';
export type { EndpointStats, ScenarioBucket } from './load/scenario-stats.ts';
export type { LoadResult } from './load/types.ts';
export type { Figure, FigureInput, Stats } from './measure/figure.ts';
export {
  type FigureMeta,
  type RateWindow,
  recordLatency,
  recordPairedRates,
  recordThroughput,
} from './measure/helpers.ts';
export {
  CYCLES_FORMULA,
  INSTRUCTION_UNIT,
  type InstructionsOptions,
  type InstructionsResult,
  instructionsUnavailableReason,
  measureInstructions,
  recordInstructions,
} from './measure/instructions.ts';
export {
  type InstructionOperation,
  type InstructionWorkload,
  operation,
} from './measure/instructions-types.ts';
export {
  type Interleaved,
  type InterleavedOptions,
  interleaved,
  type PairedResult,
  pairedDifference,
  pairedRatio,
} from './measure/interleave.ts';
export { LatencyRecorder } from './measure/latency.ts';
export { recordFigure } from './measure/record.ts';
export { type ResourceResult, ResourceSampler, recordResources } from './measure/resources.ts';
export { injectedSlowdown } from './measure/slowdown.ts';
export { mannWhitneyP, type Statistic, seededRandom, summarize } from './measure/stats.ts';
export { gpuUnavailableReason } from './measure/system-readings.ts';
export {
  type GpuResult,
  type GpuSample,
  recordSystemResources,
  type SystemResult,
  type SystemSample,
  SystemSampler,
  type SystemSamplerOptions,
} from './measure/system-resources.ts';
export {
  type CountedWindow,
  ThroughputMeter,
  type ThroughputResult,
  throughputFromCounts,
} from './measure/throughput.ts';
export { measureTimer, timeBatches, timerCostNs } from './measure/timer.ts';
export { convert, formatValue } from './measure/units.ts';
export { renderRunHtml } from './report/html.ts';
export { generateAllure, loadRun, type RunData, writeReports, writeSiteIndex } from './report/index.ts';
export { buildSite, type SiteOptions, type SiteResult } from './report/site/build.ts';
export { CHROMIUM_ARGS, chromiumExecutable, chromiumUnavailableReason } from './run/chromium.ts';
export {
  encodeRigEnv,
  type RigEnv,
  RigEnvSchema,
  readRigEnv,
  TARGET_PROTOCOLS,
  targetEnvName,
  targetFor,
} from './run/env.ts';
export { relativeUrl, toPosixPath, toUrlPath } from './run/paths.ts';
export { progress } from './run/progress.ts';
export { categoryOf, selectFiles } from './run/select.ts';
export {
  type CommandRunner,
  type KillTreeOptions,
  type KillTreeResult,
  killProcessTree,
  processTreeAlive,
  taskkillArgs,
} from './systems/kill-tree.ts';
export { dockerUnavailableReason } from './systems/providers/container.ts';
export { PROVIDERS, type ProviderName, providersOf } from './systems/providers/index.ts';
export { freePort, startProcess } from './systems/providers/process.ts';
export { REPO_ROOT } from './systems/registry.ts';
export { skipAllWhen } from './systems/skip-when.ts';
export { chooseProvider, parseSystemOptions, startSystem } from './systems/start.ts';
export type {
  AnySystemDefinition,
  ApiOf,
  DoctorCheck,
  OptionsOf,
  OptionsSchema,
  ProcessProvider,
  ProvidersOf,
  StartContext,
  Started,
  StartedInprocess,
  StartedRemote,
  StartedSystem,
  StartOptions,
  StoppedSystem,
  SystemApi,
  SystemDefinition,
  SystemHandle,
  SystemOptions,
  SystemStarted,
} from './systems/types.ts';
export { defineSystem, systemHandle } from './systems/types.ts';
export { useSystem } from './systems/use-system.ts';
export { Wait, type WaitStrategy } from './systems/wait.ts';
