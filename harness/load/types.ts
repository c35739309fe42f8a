import type { LatencyRecorder } from '../measure/latency.ts';
import type { ThroughputResult } from '../measure/throughput.ts';

export interface LoadResult {
  completed: number;
  errors: number;
  /** The first few error messages, for the report. */
  errorSamples: string[];
  latency: LatencyRecorder;
  throughput: ThroughputResult;
  /** Open model only: the arrival rate asked for, per second. */
  targetRate?: number;
  achievedRate: number;
  valid: boolean;
  invalidReason?: string;
}

export const MAX_ERROR_SAMPLES = 5;

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300);
  return String(error).slice(0, 300);
}
