// Fuzzing the inference gateway (dummy engine, child process) over raw TCP: fast-check generates
// requests to POST /v1/chat/completions, /v1/completions and /v1/embeddings (not served: 404) from
// valid ones: mutated fields (dropped, duplicated, retyped, 1e400, -0, 2^53+1, NaN), any JSON value,
// nesting 10,000 deep, invalid UTF-8, truncated JSON, bodies around and over the body limit, and
// odd heads (missing or conflicting framing, Content-Type tricks, no Host, Expect, huge headers).
// No answer may be a 5xx or missing; every error is exactly `{ error: { message, type, param, code } }`
// with a documented code; a 200 is a well-formed completion; where a recipe's answer is certain
// (suites/_helpers/inference-fuzz-expect.ts), it is that one. The server must still answer /health
// after the run, its RSS (sampled every 100 ms) bounded. A failure prints the shrunk counterexample
// (a request that killed the gateway, unshrunk) and the seed: replay with
// RIG_SEED=<seed> npx vitest run suites/security/inference.fuzz.test.ts
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  profile,
  progress,
  type ResourceResult,
  ResourceSampler,
  readRigEnv,
  recordFigure,
  recordResources,
  useSystem,
} from '../../harness/index.ts';
import { INFERENCE_ERRORS, inferenceSystem, openaiUrls } from '../../systems/inference/index.ts';
import { fuzzRecipe, type RouteName } from '../_helpers/inference-fuzz.ts';
import { type Expected, expectedAnswer } from '../_helpers/inference-fuzz-expect.ts';
import { type Rendered, render } from '../_helpers/inference-fuzz-render.ts';
import { type Exchange, exchange } from '../_helpers/raw-socket.ts';

const BODY_LIMIT = 64 * 1024;
/** 1,000 in smoke, 10,000 in nightly (scale 20). */
const RUNS = Math.max(1_000, profile().count(500));
const ANSWER_TIMEOUT_MS = 10_000;
/** Generous: V8 lets its heap grow for a while before it collects; the figure records the growth. */
const RSS_GROWTH_BOUND_MIB = 128;

const sys = useSystem(inferenceSystem, {
  provider: 'process',
  options: { engine: 'dummy', bodyLimit: BODY_LIMIT },
});

const ErrorBody = z
  .object({
    error: z
      .object({
        message: z.string().min(1),
        type: z.string(),
        param: z.string().nullable(),
        code: z.string(),
      })
      .strict(),
  })
  .strict();
const CODES = new Map(Object.entries(INFERENCE_ERRORS).map(([code, spec]) => [code.toLowerCase(), spec]));

const Usage = z
  .object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
    total_tokens: z.number().int().nonnegative(),
  })
  .strict();
const Finish = z.enum(['stop', 'length']);
const envelope = {
  id: z.string().min(1),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string(),
};
const TextChoice = z
  .object({ index: z.literal(0), text: z.string(), logprobs: z.null(), finish_reason: Finish.nullable() })
  .strict();
const COMPLETIONS: Record<Exclude<RouteName, 'embeddings'>, { json: z.ZodType; chunk: z.ZodType }> = {
  chat: {
    json: z
      .object({
        ...envelope,
        object: z.literal('chat.completion'),
        choices: z.tuple([
          z
            .object({
              index: z.literal(0),
              message: z
                .object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() })
                .strict(),
              logprobs: z.null(),
              finish_reason: Finish,
            })
            .strict(),
        ]),
        usage: Usage,
      })
      .strict(),
    chunk: z
      .object({
        ...envelope,
        object: z.literal('chat.completion.chunk'),
        choices: z.union([
          z.tuple([
            z
              .object({
                index: z.literal(0),
                delta: z
                  .object({ role: z.literal('assistant').optional(), content: z.string().optional() })
                  .strict(),
                logprobs: z.null(),
                finish_reason: Finish.nullable(),
              })
              .strict(),
          ]),
          z.tuple([]),
        ]),
        usage: Usage.nullable().optional(),
      })
      .strict(),
  },
  completion: {
    json: z
      .object({
        ...envelope,
        object: z.literal('text_completion'),
        choices: z.tuple([TextChoice]),
        usage: Usage,
      })
      .strict(),
    chunk: z
      .object({
        ...envelope,
        object: z.literal('text_completion'),
        choices: z.union([z.tuple([TextChoice]), z.tuple([])]),
        usage: Usage.nullable().optional(),
      })
      .strict(),
  },
};

const excerpt = (b: Buffer | string) => JSON.stringify(b.toString().slice(0, 300));

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What is wrong with an error body (undefined: the exact OpenAI shape, a documented code). */
function errorProblem(status: number, body: unknown): string | undefined {
  const parsed = ErrorBody.safeParse(body);
  if (!parsed.success) return `not the OpenAI error shape (${parsed.error.issues[0]?.message})`;
  const { type, code } = parsed.data.error;
  const spec = CODES.get(code);
  if (!spec) return `undocumented error code ${code}`;
  if (spec.type !== type) return `${code} has type ${type}, documented ${spec.type}`;
  if (spec.status !== status) return `${code} answered ${status}, documented ${spec.status}`;
  return undefined;
}

function successProblem(route: RouteName, contentType: string, text: string): string | undefined {
  if (route === 'embeddings') return 'a 200 from a route that is not served';
  const schemas = COMPLETIONS[route];
  if (!contentType.startsWith('text/event-stream')) {
    const parsed = schemas.json.safeParse(parseJson(text));
    return parsed.success ? undefined : `not a ${route} completion (${parsed.error.issues[0]?.message})`;
  }
  const events = text.split('\n\n').filter((e) => e !== '');
  if (events.at(-1) !== 'data: [DONE]') return 'the stream does not end with data: [DONE]';
  for (const event of events.slice(0, -1)) {
    if (!event.startsWith('data: ')) return `not an SSE data event: ${excerpt(event)}`;
    const data = parseJson(event.slice('data: '.length));
    const problem = schemas.chunk.safeParse(data).success ? undefined : errorProblem(200, data);
    if (problem) return `stream event ${excerpt(event)}: ${problem}`;
  }
  return undefined;
}

/** Counts every answer of the run (shrinking included) and judges each. */
class Tally {
  requests = 0;
  serverErrors = 0;
  readonly statuses = new Map<string, number>();

  /** The problem with an answer, or undefined. */
  judge(sent: Rendered, expected: Expected | undefined, answer: Exchange): string | undefined {
    this.requests++;
    if (answer.state === 'no-answer') {
      this.count('none');
      return `${answer.reason}; received ${excerpt(answer.received)}`;
    }
    const { status, headers, body } = answer.response;
    this.count(String(status));
    const text = body.toString('utf8');
    const problems: string[] = [];
    if (status >= 500) {
      this.serverErrors++;
      problems.push(`a ${status} answer`);
    }
    const error = status >= 400 ? parseJson(text) : undefined;
    if (status >= 400) {
      const problem = errorProblem(status, error);
      if (problem) problems.push(problem);
    } else if (status === 200) {
      const problem = successProblem(sent.route, headers['content-type']?.[0] ?? '', text);
      if (problem) problems.push(problem);
    } else problems.push(`unexpected status ${status}`);
    const code = ErrorBody.safeParse(error).data?.error.code;
    if (expected && (expected.status !== status || (expected.code && expected.code !== code))) {
      problems.push(`expected ${expected.status} ${expected.code ?? ''}`.trim());
    }
    return problems.length === 0 ? undefined : `${problems.join('; ')}: got ${status} ${excerpt(text)}`;
  }

  private count(key: string): void {
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
  }

  summary(): string {
    return [...this.statuses]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k}:${n}`)
      .join(' ');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The gateway process is alive and answers /health (a process on its way out may still be alive). */
async function serving(pid: number, root: string): Promise<boolean> {
  const health = await fetch(`${root}/health`, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) }).then(
    async (r) => {
      await r.arrayBuffer();
      return r.status;
    },
    () => 0,
  );
  return health === 200 && alive(pid);
}

/** A few valid requests first, so that the RSS figure covers the fuzzing, not the JIT warming up. */
async function warmUp(v1: string, model: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const chat = i % 2 === 0;
    const res = await fetch(`${v1}/${chat ? 'chat/completions' : 'completions'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model,
        max_tokens: 4,
        stream: i % 4 < 2,
        ...(chat ? { messages: [{ role: 'user', content: `warm ${i}` }] } : { prompt: `warm ${i}` }),
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
  }
}

describe('inference gateway fuzzing', () => {
  it(`${RUNS} generated requests: no 5xx, every error in the OpenAI shape, the server up and its memory bounded`, async () => {
    const seed = readRigEnv().RIG_SEED ?? Date.now() % 1_000_000;
    const { endpoint, pid } = sys();
    if (pid === undefined) throw new Error('the gateway child has no pid');
    const { v1, root } = openaiUrls(endpoint);
    const { hostname, port } = new URL(endpoint);
    const models = (await (await fetch(`${v1}/models`)).json()) as { data: Array<{ id: string }> };
    const model = models.data[0]?.id ?? 'dummy';
    await warmUp(v1, model);

    const tally = new Tally();
    const sampler = new ResourceSampler({ pid, intervalMs: 100 }).start();
    let resources: ResourceResult | undefined;
    let failure: Error | undefined;
    /** Once the gateway died, every later request would fail: the request that killed it stands unshrunk. */
    let died = false;
    const started = performance.now();
    try {
      await fc.assert(
        fc.asyncProperty(fuzzRecipe(model, BODY_LIMIT), async (recipe) => {
          if (died) return;
          const sent = render(recipe, `${hostname}:${port}`);
          const answer = await exchange(hostname, Number(port), sent.bytes, {
            halfClose: sent.halfClose,
            timeoutMs: ANSWER_TIMEOUT_MS,
          });
          const problem = tally.judge(sent, expectedAnswer(recipe, sent, BODY_LIMIT), answer);
          progress(`inference fuzz: ${tally.requests}/${RUNS} requests (${tally.summary()})`);
          if (answer.state === 'no-answer' && !(await serving(pid, root))) {
            died = true;
            throw new Error(
              `the gateway process died on this request: ${problem}\n${sys().logs().slice(-2000)}`,
            );
          }
          if (problem) throw new Error(problem);
        }),
        { numRuns: RUNS, seed },
      );
    } catch (e) {
      failure = new Error(
        `gateway fuzzing failed; replay: RIG_SEED=${seed} npx vitest run suites/security/inference.fuzz.test.ts\n${(e as Error).message}`,
        { cause: e },
      );
    } finally {
      resources = sampler.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    progress(
      `inference fuzz: ${tally.requests} requests in ${seconds.toFixed(1)} s (${tally.summary()})`,
      true,
    );

    const labels = { seed: String(seed), statuses: tally.summary() };
    const method = `fast-check, ${RUNS} generated requests (seed ${seed}) plus shrinking, one raw TCP connection each, to the gateway child (dummy engine, bodyLimit ${BODY_LIMIT} B)`;
    await recordFigure({
      id: 'inference.fuzz.requests',
      value: tally.requests,
      unit: 'requests',
      better: 'higher',
      n: tally.requests,
      method: `${method}, in ${seconds.toFixed(1)} s`,
      labels,
    });
    await recordFigure({
      id: 'inference.fuzz.server_errors',
      value: tally.serverErrors,
      unit: 'requests',
      better: 'lower',
      n: tally.requests,
      method: `answers with a status >= 500 among them: ${method}`,
      labels,
    });
    await recordResources('inference.fuzz.server', resources, {
      method: `the gateway child (/proc) sampled every 100 ms over the fuzzing, after 20 warm-up requests: ${method}`,
      labels,
    });

    const up = await serving(pid, root);
    if (failure) {
      throw new Error(`${failure.message}\nafter the run the gateway is ${up ? 'up' : 'down'}`, {
        cause: failure.cause,
      });
    }
    expect(up, 'the gateway process is alive and answers /health after the run').toBe(true);
    expect(tally.requests).toBeGreaterThanOrEqual(RUNS);
    expect(tally.serverErrors).toBe(0);
    const rss = resources.samples.map((s) => s.rssMiB);
    expect(rss.length).toBeGreaterThan(1);
    expect((rss.at(-1) ?? 0) - (rss[0] ?? 0)).toBeLessThan(RSS_GROWTH_BOUND_MIB);
  });
});
