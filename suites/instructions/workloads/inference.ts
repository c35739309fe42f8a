// Instruction-count workloads of the inference gateway (suites/instructions/inference.instructions.test.ts):
// one chat completion on the dummy engine through fastify's inject() (request parsing, schema
// validation, admission, generation, reply), plain and streamed. No socket: the gateway's own work.
// The gateway's latency histograms do more work for larger values, so the counting process runs it
// on a stepped clock (clock: 'stepped'); its time figures run on the real one.
import { operation } from '../../../harness/index.ts';
import { createReadyGateway, type Gateway, getPlatformInfo } from '../../../systems/inference/index.ts';

const CHAT = {
  model: 'dummy',
  messages: [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Say hello to the test rig.' },
  ],
  max_tokens: 16,
  seed: 7,
};

interface Chat {
  gw: Gateway;
  payload: string;
}

async function gateway(stream: boolean): Promise<Chat> {
  const gw = await createReadyGateway({ engine: 'dummy', port: 0 }, { env: {} });
  await gw.app.ready();
  // createGateway looks up the platform in the background; wait for it, so that nothing of it
  // lands in a counted segment. Await the same lookup (it resolves after the gateway's, which
  // started first), then check: a check per poll would exercise inject() a varying number of
  // times, and the JIT would not compile the same code in every run.
  await getPlatformInfo();
  for (let i = 0; i < 1000; i++) {
    const status = await gw.app.inject({ method: 'GET', url: '/v1/system/status' });
    if ((status.json() as { platform?: unknown }).platform) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { gw, payload: JSON.stringify({ ...CHAT, stream }) };
}

async function chat(c: Chat): Promise<void> {
  const res = await c.gw.app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    payload: c.payload,
  });
  if (res.statusCode !== 200) throw new Error(`chat completion answered ${res.statusCode}: ${res.body}`);
}

export const operations = {
  chat: operation({
    setup: () => gateway(false),
    run: chat,
    teardown: (c) => c.gw.close(),
    n: 300,
    warmup: 5_000,
    clock: 'stepped',
  }),
  // A streamed request allocates ~100 KB (stream objects, SSE chunks): n = 100 keeps the 3n
  // segment inside the young generation.
  'chat.stream': operation({
    setup: () => gateway(true),
    run: chat,
    teardown: (c) => c.gw.close(),
    n: 100,
    warmup: 5_000,
    clock: 'stepped',
  }),
};
