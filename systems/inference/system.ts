// How the harness starts the inference gateway: as a child process (default), inside the test
// process, or llama.cpp's published server image as a peer (container, where Docker answers).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTinyModel, TINY_MODEL_PATH } from '../../fixtures/models/index.ts';
import { defineSystem } from '../../harness/index.ts';
import { type InferenceConfigInput, InferenceConfigSchema } from './config.ts';
import { createGateway, type Gateway } from './server.ts';
import { waitForOk } from './wait.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const serveBin = path.join(here, 'bin', 'serve.ts');
// tsx's loader by absolute URL, so the child starts whatever its working directory is.
const tsxLoader = import.meta.resolve('tsx');

/** Start options (`startSystem('inference', { options })`): any InferenceConfig field. */
function configFrom(options: Record<string, unknown>): InferenceConfigInput {
  const known = new Set(Object.keys(InferenceConfigSchema.shape));
  return Object.fromEntries(Object.entries(options).filter(([k]) => known.has(k))) as InferenceConfigInput;
}

const ENV_OF: Record<string, string> = {
  engine: 'INFERENCE_ENGINE',
  modelPath: 'MODEL_PATH',
  modelId: 'MODEL_ID',
  slots: 'INFERENCE_SLOTS',
  queueLimit: 'INFERENCE_QUEUE_LIMIT',
  queueTimeoutMs: 'INFERENCE_QUEUE_TIMEOUT_MS',
  requestTimeoutMs: 'INFERENCE_REQUEST_TIMEOUT_MS',
  bodyLimit: 'INFERENCE_BODY_LIMIT',
  defaultMaxTokens: 'INFERENCE_MAX_TOKENS',
  threads: 'INFERENCE_THREADS',
  contextSize: 'INFERENCE_CONTEXT_SIZE',
  gpu: 'INFERENCE_GPU',
  upstreamUrl: 'UPSTREAM_URL',
  upstreamApiKey: 'UPSTREAM_API_KEY',
  dummyTokenDelayMs: 'INFERENCE_DUMMY_TOKEN_DELAY_MS',
};

export default defineSystem<Gateway>({
  name: 'inference',
  description: 'OpenAI-compatible inference gateway (dummy, llama.cpp, upstream-proxy engines)',
  defaultProvider: 'process',
  process: {
    command: ({ port, options }) => {
      const config = configFrom(options);
      const env: Record<string, string> = {
        HOST: '127.0.0.1',
        PORT: String(port),
        INFERENCE_ENGINE: 'llama_cpp',
      };
      for (const [k, v] of Object.entries(config)) {
        const name = ENV_OF[k];
        if (name && v !== undefined) env[name] = String(v);
      }
      const args = ['--import', tsxLoader, serveBin];
      // Without a model path the generated tiny model serves (the bin generates it if missing).
      if (!config.modelPath && env.INFERENCE_ENGINE === 'llama_cpp') args.push('--tiny-model');
      return { file: process.execPath, args, env };
    },
    wait: waitForOk('/health', { timeoutMs: 60_000 }),
    stopGraceMs: 5_000,
  },
  inprocess: {
    async start({ options }) {
      const config = configFrom(options);
      const engine = config.engine ?? 'llama_cpp';
      const modelPath = config.modelPath ?? (engine === 'llama_cpp' ? await ensureTinyModel() : undefined);
      const gw = await createGateway(
        { port: 0, ...config, engine, ...(modelPath ? { modelPath } : {}) },
        { env: {} },
      );
      try {
        const endpoint = await gw.listen();
        await gw.ready;
        return { api: gw, endpoint, stop: () => gw.close() };
      } catch (e) {
        await gw.close();
        throw e;
      }
    },
  },
  // llama.cpp's own server on the same generated model, as a peer for the compatibility suite.
  // The suite generates the model (ensureTinyModel) before it starts this provider.
  container: {
    image: 'ghcr.io/ggml-org/llama.cpp:server',
    port: 8080,
    command: [
      '-m',
      `/models/${path.basename(TINY_MODEL_PATH)}`,
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '-c',
      '2048',
      '-np',
      '4',
      '-t',
      '1',
      '--alias',
      'tiny-llama',
    ],
    binds: [[path.dirname(TINY_MODEL_PATH), '/models']],
    wait: waitForOk('/health', { timeoutMs: 120_000 }),
  },
  externalWait: waitForOk('/models', { base: 'v1', timeoutMs: 30_000 }),
});
