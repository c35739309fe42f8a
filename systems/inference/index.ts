// Public surface of the inference gateway.
import type { SystemHandle } from '../../harness/index.ts';
import type definition from './system.ts';

/** The typed handle suites start the gateway with: `useSystem(inferenceSystem, { options })`. */
export const inferenceSystem: SystemHandle<typeof definition> = { name: 'inference' };

/** The generated tiny test model (fixtures/models): what the smoke profile and tests serve. */
export { ensureTinyModel, TINY_MODEL_PATH } from '../../fixtures/models/index.ts';
export { Admission, type AdmissionStats } from './admission.ts';
export { type StreamTiming, type TimedStreamOptions, timedStream } from './bench-client.ts';
export {
  defaultThreads,
  ENGINE_CHOICES,
  ENV_OVERRIDES,
  envOverrides,
  GPU_CHOICES,
  type InferenceConfig,
  type InferenceConfigInput,
  InferenceConfigSchema,
  InferenceStartOptionsSchema,
  loadConfig,
  resolveModelId,
} from './config.ts';
export {
  type ChatMessage,
  createEngine,
  DummyEngine,
  type Engine,
  type EngineName,
  type FinishReason,
  type GenerateParams,
  type GenerateResult,
  LlamaCppEngine,
  type ModelCard,
  OpenAIProxyEngine,
  type ResolvedEngine,
} from './engines/index.ts';
export { readSseData } from './engines/sse.ts';
export { INFERENCE_ERRORS, InferenceError, type InferenceErrorCode, isInferenceError } from './errors.ts';
export {
  type BestEngine,
  chooseEngine,
  detectBestEngine,
  type EngineChoice,
  type GpuKind,
  getPlatformInfo,
  type PlatformInfo,
  preferredGpu,
} from './platform.ts';
export { type CreateGatewayOptions, createGateway, createReadyGateway, type Gateway } from './server.ts';
export { openaiUrls, waitForOk } from './wait.ts';
