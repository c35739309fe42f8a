// What an inference fuzz recipe must be answered with, where that is certain: a clean head leaves
// it to the body, one deviation from a clean head decides it, two or more leave any 4xx acceptable.
import {
  type BodyRecipe,
  type Framing,
  type HeadRecipe,
  JSON_TYPES,
  NON_JSON_TYPES,
  type Recipe,
  type RouteName,
  requestKind,
} from './inference-fuzz.ts';
import type { Rendered } from './inference-fuzz-render.ts';

export interface Expected {
  status: number;
  /** `error.code` of the answer; absent for a 200. */
  code?: string;
}

const MALFORMED: Expected = { status: 400, code: 'inference_malformed_http' };
const BAD_REQUEST: Expected = { status: 400, code: 'inference_bad_request' };
const OK: Expected = { status: 200 };
const NOT_FOUND: Expected = { status: 404, code: 'inference_route_not_found' };

type Verdict = Expected | 'any';

function contentTypeVerdict(
  types: string[],
  body: Buffer,
  framing: Framing,
  route: RouteName,
): Verdict | 'clean' {
  const [only, ...more] = types;
  if (more.length > 0) return 'any';
  if (route === 'embeddings') {
    // an unknown route skips a body of a well-formed type it has no parser for, and answers 404
    if (only !== undefined && JSON_TYPES.includes(only)) return 'clean';
    return only === undefined || NON_JSON_TYPES.includes(only) ? NOT_FOUND : 'any';
  }
  if (only === undefined) {
    // fastify runs a handler without parsing when a POST has neither type nor body
    return framing === 'length' && body.length === 0
      ? BAD_REQUEST
      : { status: 415, code: 'inference_unsupported_media_type' };
  }
  if (JSON_TYPES.includes(only)) return 'clean';
  return NON_JSON_TYPES.includes(only) ? { status: 415, code: 'inference_unsupported_media_type' } : 'any';
}

const HEAD_RULES: {
  [K in keyof Omit<HeadRecipe, 'contentType'>]: (v: HeadRecipe[K]) => Verdict | 'clean';
} = {
  version: (v) => (v === '1.1' ? 'clean' : 'any'),
  target: (v) => (v === 'plain' || v === 'query' ? 'clean' : v === 'bad-percent' ? MALFORMED : 'any'),
  host: (v) => (v === 'present' ? 'clean' : v === 'missing' ? MALFORMED : 'any'),
  framing: (v) =>
    v === 'length' || v === 'chunked'
      ? 'clean'
      : ['length-and-chunked', 'length-twice', 'length-conflict', 'length-garbage', 'length-over'].includes(v)
        ? MALFORMED
        : 'any',
  extra: (v) =>
    v === null || v === 'expect-continue'
      ? 'clean'
      : v === 'expect-unknown'
        ? { status: 417, code: 'inference_expectation_failed' }
        : v === 'bad-header-name' || v === 'obs-fold'
          ? MALFORMED
          : v === 'huge-header'
            ? { status: 431, code: 'inference_headers_too_large' }
            : 'any',
};

/** Whether a body recipe always renders to valid JSON (undefined: it depends). */
function parsesAsJson(b: BodyRecipe): boolean | undefined {
  if (b.kind === 'truncated' || (b.kind === 'bad-utf8' && b.at === 'outside-strings')) return false;
  if (b.kind === 'mutated' || b.kind === 'junk') return undefined;
  return true;
}

function bodyVerdict(r: Recipe, route: RouteName, body: Buffer, bodyLimit: number): Verdict {
  const b = r.body;
  if (body.length > bodyLimit) return { status: 413, code: 'inference_body_too_large' };
  const json = parsesAsJson(b);
  if (json === false) return BAD_REQUEST;
  // fastify parses the body of an unknown route too, then answers 404
  if (route === 'embeddings') return json ? NOT_FOUND : 'any';
  if (b.kind === 'junk' || b.kind === 'any-json') return BAD_REQUEST;
  if (b.kind === 'mutated') return 'any';
  if (r.route !== 'own') return BAD_REQUEST; // a chat body lacks `prompt`, a completion body `messages`
  if (b.kind === 'valid' || b.kind === 'padded') return OK;
  if (b.kind === 'deep') {
    // depth 1 of arrays is `[]`: an empty stop list, or a chat message's empty list of parts
    const empty = b.shape === 'array' && b.depth === 1;
    const emptyOk = b.at === 'stop' || (b.at === 'content' && requestKind(b) === 'chat');
    return b.at === 'unknown-field' || (empty && emptyOk) ? OK : BAD_REQUEST;
  }
  if (b.kind === 'bad-utf8')
    return b.at === 'content' ? OK : { status: 404, code: 'inference_model_not_found' };
  return 'any';
}

/**
 * The answer a recipe must get, when certain: a clean head leaves it to the body; one deviation
 * from a clean head decides it; with two or more any answer but a 5xx is acceptable (undefined).
 */
export function expectedAnswer(r: Recipe, rendered: Rendered, bodyLimit: number): Expected | undefined {
  const h = r.head;
  const verdicts = [
    contentTypeVerdict(h.contentType, rendered.body, h.framing, rendered.route),
    HEAD_RULES.version(h.version),
    HEAD_RULES.target(h.target),
    HEAD_RULES.host(h.host),
    HEAD_RULES.framing(h.framing),
    HEAD_RULES.extra(h.extra),
  ].filter((v) => v !== 'clean');
  const verdict =
    verdicts.length === 0
      ? bodyVerdict(r, rendered.route, rendered.body, bodyLimit)
      : verdicts.length === 1
        ? verdicts[0]
        : 'any';
  return verdict === 'any' ? undefined : verdict;
}
