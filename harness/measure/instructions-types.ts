// The workload-module contract of instruction counting (harness/measure/instructions.ts) and the
// shapes its runner and orchestrator exchange. A workload module lives in
// suites/instructions/workloads/<system>.ts and exports `operations`.

/**
 * One operation to count. `setup` runs once per process, then `run` is called for a fixed warm-up
 * and for the two counted segments (n and 3n calls). Setup, warm-up and teardown happen outside
 * the counted segments, but they must do the same work in every process.
 */
export interface InstructionOperation<S = unknown> {
  /** Builds the state the operation runs on: a store, a queue, a fastify app. Same every time. */
  setup(): S | Promise<S>;
  /** One operation through the system's public API; `i` counts calls from 0 (warm-up included). */
  run(state: S, i: number): unknown;
  /** Releases what setup made (segments in /dev/shm, servers); runs even when a segment failed. */
  teardown?(state: S): void | Promise<void>;
  /** Calls in the first counted segment (the second runs 3n). Default 10,000. */
  n?: number;
  /** Uncounted calls before the first segment, so that JIT tiering settles. Default 2,000. */
  warmup?: number;
  /**
   * Units of work per call, when one call does several (a report of 20 figures): the figure is per
   * unit. Default 1.
   */
  unitsPerCall?: number;
  /**
   * `stepped`: in the counting process only, performance.now() and Date.now() advance a fixed
   * 10 µs per read, for operations whose work depends on clock values (latency histograms walk
   * more buckets for a larger value, and under valgrind every latency is ~50x larger and varies
   * with the machine's load). The time figure always runs on the real clock. Default `real`.
   */
  clock?: 'real' | 'stepped';
}

/** A workload module: `export const operations = { name: operation(...) }`. */
export interface InstructionWorkload {
  operations: Record<string, InstructionOperation>;
}

/** Declares one operation with its own state type (the record of a workload module erases it). */
export function operation<S>(op: InstructionOperation<S>): InstructionOperation {
  return op as InstructionOperation;
}

/** What the orchestrator tells the runner (one JSON argument). */
export interface RunnerConfig {
  /** Absolute path of the workload module (the tsx loader imports it; a bundle has it built in). */
  workload: string;
  op: string;
  n: number;
  warmup: number;
  /** Spin chunks added per call (a fraction: one chunk every 1/x calls); 0 without injection. */
  extraChunks: number;
}

/** What the runner prints as its last stdout line. */
export interface RunnerReport {
  ok: true;
  op: string;
  n: number;
  warmup: number;
  async: boolean;
  /** Counting marks made (each one is a callgrind dump). */
  marks: number;
  chunksSpun: number;
  /** Garbage collections inside the n and the 3n segment (normally none). */
  collections: [number, number];
}
