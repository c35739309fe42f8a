// Maps the configured engine name to an Engine instance, with the reason for the choice.
import { type InferenceConfig, resolveModelId } from '../config.ts';
import { InferenceError } from '../errors.ts';
import { type BestEngine, detectBestEngine, type PlatformInfo } from '../platform.ts';
import { DummyEngine } from './dummy.ts';
import { LlamaCppEngine } from './llama-cpp.ts';
import { OpenAIProxyEngine } from './openai-proxy.ts';
import type { Engine } from './types.ts';

export { DummyEngine } from './dummy.ts';
export { LlamaCppEngine } from './llama-cpp.ts';
export { OpenAIProxyEngine } from './openai-proxy.ts';
export type * from './types.ts';

export interface ResolvedEngine {
  engine: Engine;
  reason: string;
}

function proxy(config: InferenceConfig, label: string): Engine {
  if (!config.upstreamUrl) {
    throw new InferenceError(
      'INFERENCE_CONFIG_INVALID',
      `invalid config: inference.upstreamUrl is required for engine ${label} (set UPSTREAM_URL, e.g. http://127.0.0.1:8001/v1)`,
    );
  }
  return new OpenAIProxyEngine({
    upstreamUrl: config.upstreamUrl,
    label,
    timeoutMs: config.requestTimeoutMs,
    ...(config.upstreamApiKey ? { apiKey: config.upstreamApiKey } : {}),
  });
}

function llamaCpp(config: InferenceConfig): Engine {
  if (!config.modelPath) {
    throw new InferenceError(
      'INFERENCE_CONFIG_INVALID',
      'invalid config: inference.modelPath is required for engine llama_cpp (set MODEL_PATH to a .gguf file)',
    );
  }
  return new LlamaCppEngine({
    modelPath: config.modelPath,
    modelId: resolveModelId(config, 'llama_cpp'),
    slots: config.slots,
    threads: config.threads,
    contextSize: config.contextSize,
    gpu: config.gpu,
  });
}

/**
 * Builds the engine the config asks for. `auto` applies detectBestEngine(): vllm/mlx need an
 * upstream server, so without `upstreamUrl` auto falls back to llama_cpp (and to dummy without a model).
 */
export async function createEngine(
  config: InferenceConfig,
  platform?: PlatformInfo,
): Promise<ResolvedEngine> {
  switch (config.engine) {
    case 'dummy':
      return {
        engine: new DummyEngine(resolveModelId(config, 'dummy'), config.dummyTokenDelayMs),
        reason: 'configured: dummy',
      };
    case 'llama_cpp':
      return { engine: llamaCpp(config), reason: 'configured: llama_cpp' };
    case 'openai-proxy':
    case 'vllm':
    case 'mlx':
      return {
        engine: proxy(config, config.engine),
        reason: `configured: ${config.engine} via ${config.upstreamUrl ?? '?'}`,
      };
    case 'auto': {
      const best = await detectBestEngine(platform ? { platform } : {});
      const preferred: BestEngine = best.engine;
      if (preferred !== 'llama_cpp' && config.upstreamUrl) {
        return { engine: proxy(config, preferred), reason: `auto: ${best.reason}` };
      }
      const why = preferred === 'llama_cpp' ? best.reason : `${best.reason}, but no upstreamUrl is set`;
      if (config.modelPath) return { engine: llamaCpp(config), reason: `auto: ${why}; using llama_cpp` };
      return {
        engine: new DummyEngine(resolveModelId(config, 'dummy'), config.dummyTokenDelayMs),
        reason: `auto: ${why}; no modelPath is set, so the dummy engine serves`,
      };
    }
  }
}
