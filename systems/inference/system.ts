// How the harness starts the inference gateway: as a child process (default), inside the test
// process, or llama.cpp's published server image as a peer (container, where Docker answers).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTinyModel, TINY_MODEL_PATH } from '../../fixtures/models/index.ts';
import { type DoctorCheck, defineSystem } from '../../harness/index.ts';
import { ENV_OVERRIDES, InferenceStartOptionsSchema } from './config.ts';
import { createGateway } from './server.ts';
import { waitForOk } from './wait.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const serveBin = path.join(here, 'bin', 'serve.ts');
// tsx's loader by absolute URL, so the child starts whatever its working directory is.
const tsxLoader = import.meta.resolve('tsx');

/** Start option -> the environment variable the child reads it from (ENV_OVERRIDES inverted). */
const ENV_OF: Record<string, string> = Object.fromEntries(
  Object.entries(ENV_OVERRIDES).map(([variable, field]) => [field, variable]),
);

/** The models this machine can serve: the generated tiny model, or MODEL_PATH. */
async function modelsCheck(): Promise<DoctorCheck> {
  const modelsDir = path.dirname(TINY_MODEL_PATH);
  const models = existsSync(modelsDir) ? readdirSync(modelsDir).filter((f) => f.endsWith('.gguf')) : [];
  const envModel = process.env.MODEL_PATH;
  const ok = models.length > 0 || Boolean(envModel && existsSync(envModel));
  const repo = path.resolve(here, '..', '..');
  return {
    name: 'models',
    ok,
    detail:
      [
        ...models.map((m) => path.relative(repo, path.join(modelsDir, m))),
        ...(envModel ? [`MODEL_PATH=${envModel}`] : []),
      ].join(', ') || 'none',
    ...(ok ? {} : { hint: 'generated on first use by the inference suites (tiny GGUF), or set MODEL_PATH' }),
  };
}

export default defineSystem({
  name: 'inference',
  description: 'OpenAI-compatible inference gateway (dummy, llama.cpp, upstream-proxy engines)',
  defaultProvider: 'process',
  options: InferenceStartOptionsSchema,
  process: {
    command: ({ host, port, options: config }) => {
      const env: Record<string, string> = {
        HOST: host,
        PORT: String(port),
        INFERENCE_ENGINE: 'llama_cpp',
      };
      for (const [field, value] of Object.entries(config)) {
        const variable = ENV_OF[field];
        if (variable && value !== undefined) env[variable] = String(value);
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
    async start({ host, port, options: config }) {
      const engine = config.engine ?? 'llama_cpp';
      const modelPath = config.modelPath ?? (engine === 'llama_cpp' ? await ensureTinyModel() : undefined);
      const gw = await createGateway(
        {
          host: host ?? '127.0.0.1',
          port: port ?? 0,
          ...config,
          engine,
          ...(modelPath ? { modelPath } : {}),
        },
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
  doctor: async () => [await modelsCheck()],
});
