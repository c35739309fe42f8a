// Generated hostile requests for the inference gateway (suites/security/inference.fuzz.test.ts):
// the recipes and their fast-check generators. A recipe is small and readable (fast-check prints
// it as the counterexample); inference-fuzz-render.ts turns it into the exact bytes sent, and
// inference-fuzz-expect.ts says what answer it must get where that is certain.
import fc from 'fast-check';

export const ROUTES = {
  chat: '/v1/chat/completions',
  completion: '/v1/completions',
  embeddings: '/v1/embeddings',
} as const;
export type RouteName = keyof typeof ROUTES;

type Json = fc.JsonValue;
type Request = { [key: string]: Json };

export type Mutation =
  | { op: 'drop'; path: string }
  | { op: 'retype'; path: string; value: Json }
  /** Raw JSON text at `path`, including what JSON.stringify cannot write (1e400, NaN, 0x10). */
  | { op: 'literal'; path: string; literal: string }
  /** The key written twice; `last`: the duplicate comes after the original (and wins). */
  | { op: 'duplicate'; key: string; value: Json; last: boolean };

/** `input`: messages (chat) or prompt (completion); `content`: the first message's content, or prompt[0]. */
export type DeepSlot = 'top' | 'unknown-field' | 'input' | 'stop' | 'content';
export type Utf8Slot = 'content' | 'model' | 'outside-strings';

export type BodyRecipe =
  | { kind: 'valid'; request: Request }
  | { kind: 'mutated'; request: Request; mutations: Mutation[] }
  /** Any JSON value as the whole body: arrays, strings, numbers, null, stray objects. */
  | { kind: 'any-json'; value: Json }
  | { kind: 'deep'; request: Request; shape: 'array' | 'object'; depth: number; at: DeepSlot }
  | { kind: 'bad-utf8'; request: Request; bytes: number[]; at: Utf8Slot }
  | { kind: 'truncated'; request: Request; cut: number }
  /** The request padded with an unknown field to exactly `size` bytes (around and over the limit). */
  | { kind: 'padded'; request: Request; size: number }
  | { kind: 'junk'; bytes: number[] };

export type Framing =
  | 'length'
  | 'chunked'
  | 'length-and-chunked'
  | 'length-twice'
  | 'length-conflict'
  | 'length-garbage'
  /** Content-Length larger than the body, then EOF. */
  | 'length-over'
  /** Content-Length smaller than the body: the rest is a pipelined non-request. */
  | 'length-under'
  /** Neither header: the body is a pipelined non-request. */
  | 'none';

export type Extra =
  | 'expect-continue'
  | 'expect-unknown'
  | 'bad-header-name'
  | 'obs-fold'
  | 'huge-header'
  | 'content-encoding'
  | 'non-ascii-header';

export interface HeadRecipe {
  version: '1.1' | '1.0';
  target: 'plain' | 'query' | 'bad-percent' | 'encoded-slash' | 'trailing-slash';
  host: 'present' | 'missing' | 'twice';
  /** Content-Type header values: [] none, two values a duplicated header. */
  contentType: string[];
  framing: Framing;
  extra: Extra | null;
}

export interface Recipe {
  /** `own`: the route of the body's request kind; `swapped`: the other generation route. */
  route: 'own' | 'swapped' | 'embeddings';
  head: HeadRecipe;
  body: BodyRecipe;
}

export const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON; Charset=UTF-8',
  'application/json;charset=UTF-8',
];
/** Media types the gateway must refuse with 415 (a missing header is the empty list). */
export const NON_JSON_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
];
/** Charset tricks and malformed values: any 4xx or a 200 is acceptable, never a 5xx. */
const ODD_TYPES = [
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset="utf-8"',
  'application/json;;',
  'application/json, text/plain',
  'application/jsonx',
  'application/json-patch+json',
  'application/*',
  '*/*',
  ';',
  '',
];

const CLEAN_HEAD: HeadRecipe = {
  version: '1.1',
  target: 'plain',
  host: 'present',
  contentType: ['application/json'],
  framing: 'length',
  extra: null,
};

/** Raw JSON texts for `literal` mutations: extremes, -0, unsafe integers and invalid JSON. */
const LITERALS = [
  '1e308',
  '-1e308',
  '1e400',
  '-1e400',
  '-0',
  '0.0',
  '5e-324',
  '1e-400',
  '9007199254740993',
  '9007199254740992',
  '-9007199254740993',
  '18446744073709551616',
  '1.5',
  '1E2',
  'NaN',
  'Infinity',
  '-Infinity',
  '"NaN"',
  '"Infinity"',
  '"-0"',
  '"1e308"',
  '"8"',
  '0x10',
  '010',
  '+1',
  '.5',
  '1.',
  '1e',
  '-',
  'true',
  'null',
  '""',
  '[]',
  '{}',
  '[null]',
  '"\\u0000"',
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\u202e"',
];

/** Field paths that mutations hit (paths absent from the request are created). */
const PATHS = [
  'model',
  'messages',
  'messages.0',
  'messages.0.role',
  'messages.0.content',
  'messages.0.content.0.text',
  'prompt',
  'prompt.0',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'seed',
  'stop',
  'stop.0',
  'presence_penalty',
  'frequency_penalty',
  'n',
  'stream',
  'stream_options',
  'stream_options.include_usage',
  'response_format',
  'response_format.type',
  'echo',
  'user',
];

const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc3],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xe2, 0x28, 0xa1],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf, 0xed, 0xa0, 0x80],
  [0xf0, 0x28, 0x8c, 0xbc],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

/** A failing case shrinks towards the first (the clean) alternative of each choice. */
const SHRINK_TO_FIRST = { withCrossShrink: true };

const small = fc.string({ maxLength: 24 });

const sampling = {
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  top_p: fc.double({ min: 0, max: 1, noNaN: true }),
  seed: fc.oneof(SHRINK_TO_FIRST, fc.integer(), fc.constantFrom(0, 2 ** 53 - 1, -(2 ** 53 - 1))),
  stop: fc.oneof(
    SHRINK_TO_FIRST,
    fc.string({ maxLength: 6 }),
    fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }),
  ),
  presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
  frequency_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
  n: fc.constantFrom(1, null),
  stream: fc.boolean(),
  stream_options: fc.record({ include_usage: fc.boolean() }),
  user: small,
};

function chatRequest(model: string): fc.Arbitrary<Request> {
  const content = fc.oneof(
    SHRINK_TO_FIRST,
    small,
    fc.array(fc.record({ type: fc.constant('text'), text: small }), { maxLength: 3 }),
    fc.constant(null),
  );
  const message = fc.record(
    {
      role: fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool'),
      content,
      name: small,
    },
    { requiredKeys: ['role'] },
  );
  return fc
    .record(
      {
        messages: fc.array(message, { minLength: 1, maxLength: 4 }),
        max_tokens: fc.integer({ min: 1, max: 8 }),
        max_completion_tokens: fc.integer({ min: 1, max: 8 }),
        response_format: fc.constant({ type: 'text' }),
        ...sampling,
      },
      { requiredKeys: ['messages', 'max_tokens'] },
    )
    .map((r) => ({ model, ...r }));
}

function completionRequest(model: string): fc.Arbitrary<Request> {
  return fc
    .record(
      {
        prompt: fc.oneof(SHRINK_TO_FIRST, small, fc.tuple(small)),
        max_tokens: fc.integer({ min: 1, max: 8 }),
        echo: fc.constantFrom(false, null),
        ...sampling,
      },
      { requiredKeys: ['prompt', 'max_tokens'] },
    )
    .map((r) => ({ model, ...r }));
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  SHRINK_TO_FIRST,
  fc.record({ op: fc.constant('drop' as const), path: fc.constantFrom(...PATHS) }),
  fc.record({
    op: fc.constant('retype' as const),
    path: fc.constantFrom(...PATHS),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    op: fc.constant('literal' as const),
    path: fc.constantFrom(...PATHS),
    literal: fc.constantFrom(...LITERALS),
  }),
  fc.record({
    op: fc.constant('duplicate' as const),
    key: fc.constantFrom('model', 'messages', 'prompt', 'max_tokens', 'stream'),
    value: fc.jsonValue({ maxDepth: 1 }),
    last: fc.boolean(),
  }),
);

function bodyRecipe(model: string, bodyLimit: number): fc.Arbitrary<BodyRecipe> {
  const request = fc.oneof(SHRINK_TO_FIRST, chatRequest(model), completionRequest(model));
  const size = fc.oneof(
    SHRINK_TO_FIRST,
    fc.integer({ min: bodyLimit - 16, max: bodyLimit + 16 }),
    fc.integer({ min: 1024, max: bodyLimit }),
    fc.integer({ min: bodyLimit + 1, max: 2 * bodyLimit }),
  );
  const depth = fc.oneof(
    SHRINK_TO_FIRST,
    fc.integer({ min: 1, max: 64 }),
    fc.constantFrom(1_000, 10_000),
    fc.integer({ min: 1, max: 12_000 }),
  );
  const highBytes = fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 6 });
  return fc.oneof(
    SHRINK_TO_FIRST,
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('valid' as const), request }) },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('mutated' as const),
        request,
        mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('any-json' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('deep' as const),
        request,
        shape: fc.constantFrom('array' as const, 'object' as const),
        depth,
        at: fc.constantFrom<DeepSlot>('top', 'unknown-field', 'input', 'stop', 'content'),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('bad-utf8' as const),
        request,
        bytes: fc.oneof(SHRINK_TO_FIRST, fc.constantFrom(...INVALID_UTF8), highBytes),
        at: fc.constantFrom<Utf8Slot>('content', 'model', 'outside-strings'),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncated' as const), request, cut: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('padded' as const), request, size }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('junk' as const),
        bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 200 }),
      }),
    },
  );
}

function headRecipe(): fc.Arbitrary<HeadRecipe> {
  const one = <T>(clean: T, ...odd: T[]) =>
    fc.oneof(
      SHRINK_TO_FIRST,
      { weight: 4, arbitrary: fc.constant(clean) },
      { weight: 1, arbitrary: fc.constantFrom(...odd) },
    );
  const anyType = fc.constantFrom(...JSON_TYPES, ...NON_JSON_TYPES, ...ODD_TYPES);
  const contentType = fc.oneof(
    SHRINK_TO_FIRST,
    { weight: 4, arbitrary: fc.constantFrom(...JSON_TYPES).map((t) => [t]) },
    { weight: 1, arbitrary: fc.constantFrom(...NON_JSON_TYPES).map((t) => [t]) },
    { weight: 1, arbitrary: fc.constant<string[]>([]) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_TYPES).map((t) => [t]) },
    { weight: 1, arbitrary: fc.tuple(anyType, anyType).map((pair): string[] => [...pair]) },
    { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((t) => [t.trim()]) },
  );
  const odd = fc.record({
    version: one<HeadRecipe['version']>('1.1', '1.0'),
    target: one<HeadRecipe['target']>('plain', 'query', 'bad-percent', 'encoded-slash', 'trailing-slash'),
    host: one<HeadRecipe['host']>('present', 'missing', 'twice'),
    contentType,
    framing: one<Framing>(
      'length',
      'chunked',
      'length-and-chunked',
      'length-twice',
      'length-conflict',
      'length-garbage',
      'length-over',
      'length-under',
      'none',
    ),
    extra: one<Extra | null>(
      null,
      'expect-continue',
      'expect-unknown',
      'bad-header-name',
      'obs-fold',
      'huge-header',
      'content-encoding',
      'non-ascii-header',
    ),
  });
  return fc.oneof(
    SHRINK_TO_FIRST,
    { weight: 1, arbitrary: fc.constant(CLEAN_HEAD) },
    { weight: 1, arbitrary: odd },
  );
}

/** The generator: a route, a head and a body; most requests go to the route of their kind. */
export function fuzzRecipe(model: string, bodyLimit: number): fc.Arbitrary<Recipe> {
  return fc.record({
    route: fc.oneof(
      SHRINK_TO_FIRST,
      { weight: 8, arbitrary: fc.constant('own' as const) },
      { weight: 1, arbitrary: fc.constantFrom('swapped' as const, 'embeddings' as const) },
    ),
    head: headRecipe(),
    body: bodyRecipe(model, bodyLimit),
  });
}

/** The kind of request a body is built from: chat unless it has a `prompt`. */
export function requestKind(body: BodyRecipe): 'chat' | 'completion' {
  return 'request' in body && 'prompt' in body.request ? 'completion' : 'chat';
}

/** The route a recipe goes to. */
export function routeOf(r: Recipe): RouteName {
  if (r.route === 'embeddings') return 'embeddings';
  const own = requestKind(r.body);
  return r.route === 'own' ? own : own === 'chat' ? 'completion' : 'chat';
}
