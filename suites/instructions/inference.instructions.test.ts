// Instructions per chat completion of the inference gateway on the dummy engine, through fastify's
// inject() (parse, validation, admission, generation, reply): the deterministic form of "gateway
// overhead", each beside its native time. Workload: ./workloads/inference.ts.
import { describe } from 'vitest';
import { countIt } from './figures.ts';

describe('inference instruction counts', () => {
  countIt(
    'inference',
    'inference.chat',
    'chat',
    'chat completion (16 tokens, dummy engine) through app.inject()',
  );
  countIt(
    'inference',
    'inference.chat.stream',
    'chat.stream',
    'streamed chat completion (16 tokens, SSE, dummy engine) through app.inject()',
  );
});
