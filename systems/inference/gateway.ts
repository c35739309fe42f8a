// The state shared by the routes: config, engine, admission control, metrics, readiness.

import type { Admission } from './admission.ts';
import type { InferenceConfig } from './config.ts';
import type { Engine } from './engines/types.ts';
import type { GatewayMetrics } from './metrics.ts';

export interface GatewayState {
  readonly config: InferenceConfig;
  readonly engine: Engine;
  readonly engineReason: string;
  readonly admission: Admission;
  readonly metrics: GatewayMetrics;
  readonly startedAt: number;
  /** 'loading' until engine.load() resolves; 'failed' keeps /health at 503 with the error. */
  phase: 'loading' | 'ready' | 'failed' | 'closing';
  loadError: string | undefined;
}
