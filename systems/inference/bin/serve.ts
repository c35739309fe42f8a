// Starts the gateway: `node --import tsx systems/inference/bin/serve.ts [--port N] [--host H]
// [--engine E] [--model PATH | --tiny-model] [--slots N] [--threads N]`. Flags override the environment, which overrides defaults.
// Prints `listening on http://HOST:PORT` once the socket accepts, `ready: ...` once the model is loaded.
import { parseArgs } from 'node:util';
import { ensureTinyModel } from '../../../fixtures/models/index.ts';
import type { InferenceConfigInput } from '../config.ts';
import { isInferenceError } from '../errors.ts';
import { createGateway } from '../server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    engine: { type: 'string' },
    model: { type: 'string' },
    'model-id': { type: 'string' },
    slots: { type: 'string' },
    threads: { type: 'string' },
    'tiny-model': { type: 'boolean' },
  },
  strict: true,
});

// Flags become environment overrides so that they go through the same validation and messages.
const env: NodeJS.ProcessEnv = { ...process.env };
if (values.port) env.PORT = values.port;
if (values.host) env.HOST = values.host;
if (values.engine) env.INFERENCE_ENGINE = values.engine;
if (values.model) env.MODEL_PATH = values.model;
// --tiny-model: serve the generated test model (fixtures/models), generating it on first use.
if (values['tiny-model'] && !env.MODEL_PATH) env.MODEL_PATH = await ensureTinyModel();
if (values['model-id']) env.MODEL_ID = values['model-id'];
if (values.slots) env.INFERENCE_SLOTS = values.slots;
if (values.threads) env.INFERENCE_THREADS = values.threads;

try {
  const input: InferenceConfigInput = {};
  const gw = await createGateway(input, { env });
  const url = await gw.listen();
  process.stdout.write(`listening on ${url}\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: closing\n`);
    await gw.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  gw.ready.then(
    () => {
      const models = gw.state.engine.models().map((m) => m.id);
      process.stdout.write(
        `ready: engine ${gw.state.engine.label} (${gw.state.engineReason}) serving ${models.join(', ')}\n`,
      );
    },
    (e: unknown) => process.stderr.write(`engine failed to load: ${(e as Error).message}\n`),
  );
} catch (e) {
  process.stderr.write(`${isInferenceError(e) ? `${e.code}: ` : ''}${(e as Error).message}\n`);
  process.exit(2);
}
