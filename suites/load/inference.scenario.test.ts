// Inference under user scenarios (Locust/k6 style): users that browse (health 3, models 5, chat
// 10, system status 2, thinking 1-3 s between tasks) and a fast-user class that polls the reads,
// ramped through stages (smoke: 5 -> 10 -> 20 users, 3 s each; nightly: 10 -> 50 -> 100 users
// held 60, 120 and 180 s). Per endpoint and per stage: requests, failures, p50/p95/p99, RPS; p95,
// RPS, users and failures over time; the gateway's CPU and memory and the machine's over the
// scenario. Figures are recorded before anything is asserted; the gate judges the timings.
import { describe, expect, it } from 'vitest';
import {
  profile,
  ResourceSampler,
  recordResources,
  recordScenario,
  recordSystemResources,
  runScenario,
  type ScenarioContext,
  type ScenarioOptions,
  SystemSampler,
  useSystem,
} from '../../harness/index.ts';
import { inferenceSystem, openaiUrls } from '../../systems/inference/index.ts';

/** Users never exceed 100 and each has one request in flight: 64 queued + 4 generating is a
 * queue a burst can fill (an explicit 429), which a healthy gateway rarely reaches. */
const QUEUE_LIMIT = 64;

const sys = useSystem(inferenceSystem, {
  options: { engine: 'llama_cpp', slots: 4, queueLimit: QUEUE_LIMIT },
});

/** The stages per profile: nightly as the original plan has them, every other profile the smoke shape. */
const SHAPES: Record<string, ScenarioOptions['stages']> = {
  smoke: [
    { users: 5, spawnRate: 10, holdS: 3 },
    { users: 10, spawnRate: 10, holdS: 3 },
    { users: 20, spawnRate: 10, holdS: 3 },
  ],
  nightly: [
    { users: 10, spawnRate: 5, holdS: 60 },
    { users: 50, spawnRate: 5, holdS: 120 },
    { users: 100, spawnRate: 5, holdS: 180 },
  ],
};

const PROMPTS = [
  'Tell me about the sky.',
  'Write a short poem about rivers.',
  'What is the capital of France?',
  'Summarise the plot of a detective story.',
  'Explain how a bicycle stays upright.',
  'List three fruits and their colours.',
];

interface ChatReply {
  choices: Array<{ message: { content: string } }>;
  usage: { completion_tokens: number };
}

/** The plan's weighted tasks: browsing users run all four; fast users the three reads. */
function tasks(model: string): ScenarioOptions['users'][number]['tasks'] {
  return [
    { name: 'health', weight: 3, run: (ctx: ScenarioContext) => ctx.http.get('/health') },
    { name: 'models', weight: 5, run: (ctx: ScenarioContext) => ctx.http.get('/v1/models') },
    {
      name: 'chat',
      weight: 10,
      run: (ctx: ScenarioContext) => {
        const maxTokens = ctx.randomInt(20, 100);
        return ctx.http.post(
          '/v1/chat/completions',
          {
            model,
            messages: [{ role: 'user', content: ctx.pick(PROMPTS) }],
            max_tokens: maxTokens,
            temperature: 1,
            seed: ctx.randomInt(0, 1_000_000),
          },
          {
            check: (res) => {
              const reply = res.json<ChatReply>();
              if (typeof reply.choices?.[0]?.message?.content !== 'string') throw new Error('no message');
              if (!(reply.usage.completion_tokens <= maxTokens)) {
                throw new Error(`${reply.usage.completion_tokens} tokens for max_tokens ${maxTokens}`);
              }
            },
          },
        );
      },
    },
    { name: 'status', weight: 2, run: (ctx: ScenarioContext) => ctx.http.get('/v1/system/status') },
  ];
}

describe('inference user scenario', () => {
  it('browsing and fast users through ramp stages: every endpoint served, no failure but an explicit 429', async () => {
    const { root, v1 } = openaiUrls(sys().endpoint);
    const models = (await (await fetch(`${v1}/models`)).json()) as { data: Array<{ id: string }> };
    const model = models.data[0]?.id ?? '';
    const stages = SHAPES[profile().name] ?? SHAPES.smoke!;
    const all = tasks(model);
    // Fast users are the pollers (dashboards, health checks, model lists): they read without
    // thinking while the browsing users chat, so /health is measured under that load, with
    // enough samples for its figures in every stage.
    const reads = all.filter((t) => t.name !== 'chat');
    const pid = sys().provider !== 'external' ? sys().pid : undefined;
    const server = pid !== undefined ? new ResourceSampler({ pid, intervalMs: 250 }).start() : undefined;
    const machine = new SystemSampler({ intervalMs: 500 }).start();
    let result: Awaited<ReturnType<typeof runScenario>>;
    try {
      result = await runScenario({
        baseUrl: root,
        users: [
          // Listed first, the fast class takes the tie at 5 users: 1 of 5, 1 of 10, 2 of 20, 10 of 100.
          { name: 'fast', weight: 1, thinkTimeS: { min: 0, max: 0.01 }, tasks: reads },
          { name: 'browsing', weight: 9, thinkTimeS: { min: 1, max: 3 }, tasks: all },
        ],
        stages,
        seed: 11,
        label: 'inference scenario',
      });
    } finally {
      const serverResources = server?.stop();
      const machineResources = machine.stop();
      const how = 'sampled over the user scenario';
      if (serverResources) {
        await recordResources('inference.scenario.server', serverResources, {
          method: `the gateway child process (/proc) every 250 ms, ${how}`,
          labels: { chart: 'inference.scenario server' },
        });
      }
      await recordSystemResources('inference.scenario', machineResources, { method: `every 500 ms, ${how}` });
    }
    const shape = stages.map((s) => `${s.users} users (+${s.spawnRate}/s, ${s.holdS} s)`).join(' -> ');
    await recordScenario('inference.scenario', result, {
      method:
        `user scenario against the gateway (llama_cpp, slots 4, queue ${QUEUE_LIMIT}): ${shape}; ` +
        'browsing users (9 in 10) think 1-3 s between tasks health 3, models 5, chat 10 (max_tokens ' +
        '20-100), system status 2; fast users (1 in 10, at least 1) 0-10 ms between the three reads; ' +
        'a keep-alive connection per user',
    });

    // Asserted after recording, so that a failing run still leaves its figures.
    const labels = result.endpoints.map((e) => e.label);
    expect(labels).toEqual([
      'GET /health',
      'GET /v1/models',
      'GET /v1/system/status',
      'POST /v1/chat/completions',
    ]);
    for (const e of result.endpoints) {
      expect(e.requests, e.label).toBeGreaterThan(0);
      // The only failure a healthy gateway may answer is an explicit 429 (queue full), on chat.
      const other = Object.keys(e.failureKinds).filter((k) => k !== 'HTTP 429' || !e.label.includes('chat'));
      expect(other, `${e.label}: ${e.errorSamples.join(' | ')}`).toEqual([]);
    }
    // Status answers while the gateway is loaded: in the last stage's sustained window.
    const last = result.stages.at(-1)!;
    expect(last.endpoints.find((e) => e.label === 'GET /v1/system/status')?.requests ?? 0).toBeGreaterThan(0);
    expect(result.state).toBe('completed');
    expect(result.users.abandoned).toBe(0);
    expect(result.stages.map((s) => s.usersReached)).toEqual(stages.map((s) => s.users));
    // One fast user in ten, apportioned exactly: 2 of 20 (smoke), 10 of 100 (nightly).
    expect(last.usersByClass.fast).toBe(Math.round(last.users / 10));
    expect(result.stages[0]!.usersByClass.fast).toBe(1);
  });
});
