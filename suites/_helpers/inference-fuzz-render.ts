// Renders an inference fuzz recipe (inference-fuzz.ts) to the exact bytes sent: the body, with
// raw literals and invalid UTF-8 spliced in where JSON.stringify cannot write them, and the head
// with its framing, headers and target.
import type fc from 'fast-check';
import {
  type BodyRecipe,
  type DeepSlot,
  type Extra,
  type Framing,
  type HeadRecipe,
  type Mutation,
  type Recipe,
  ROUTES,
  type RouteName,
  routeOf,
} from './inference-fuzz.ts';

type Json = fc.JsonValue;
type Request = { [key: string]: Json };

export interface Rendered {
  route: RouteName;
  /** The request as sent: head and framed body. */
  bytes: Buffer;
  /** The body before framing. */
  body: Buffer;
  /** Half-close after writing (the body is shorter than its Content-Length). */
  halfClose: boolean;
}

const SENTINEL = (i: number) => `\u0001rig-raw-${i}\u0001`;
const SENTINEL_JSON = /"\\u0001rig-raw-(\d+)\\u0001"/g;

/** JSON text of `value`, each SENTINEL(i) string replaced by `raws[i]` as raw bytes. */
function jsonWithRaw(value: Json, raws: Buffer[]): Buffer {
  const text = JSON.stringify(value);
  const parts: Buffer[] = [];
  let at = 0;
  for (const m of text.matchAll(SENTINEL_JSON)) {
    parts.push(Buffer.from(text.slice(at, m.index)), raws[Number(m[1])] ?? Buffer.alloc(0));
    at = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(at)));
  return Buffer.concat(parts);
}

type Container = { [key: string]: Json } | Json[];
const isContainer = (v: Json | undefined): v is Container => typeof v === 'object' && v !== null;

/** Sets `path` (dotted, numeric segments index arrays), creating or replacing what is in the way. */
function setPath(root: Request, path: string, value: Json): void {
  const keys = path.split('.');
  let at: Container = root;
  for (const [i, key] of keys.entries()) {
    const slot = at as Record<string, Json>;
    if (i === keys.length - 1) {
      slot[key] = value;
      return;
    }
    const next = slot[key];
    if (!isContainer(next)) slot[key] = /^\d+$/.test(keys[i + 1] ?? '') ? [] : {};
    at = slot[key] as Container;
  }
}

function dropPath(root: Request, path: string): void {
  const keys = path.split('.');
  let at: Json | undefined = root;
  for (const key of keys.slice(0, -1)) at = isContainer(at) ? (at as Record<string, Json>)[key] : undefined;
  const last = keys.at(-1) ?? '';
  if (Array.isArray(at) && /^\d+$/.test(last)) at.splice(Number(last), 1);
  else if (isContainer(at)) delete (at as Record<string, Json>)[last];
}

function nest(shape: 'array' | 'object', depth: number): Buffer {
  return Buffer.from(
    shape === 'array'
      ? '['.repeat(depth) + ']'.repeat(depth)
      : `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`,
  );
}

/** The request's JSON with `raw` bytes as the value of a slot (messages/prompt, first content, stop ...). */
function withRaw(request: Request, slot: DeepSlot | 'model', raw: Buffer): Buffer {
  const copy = structuredClone(request);
  const chat = !('prompt' in copy);
  const marker = SENTINEL(0);
  if (slot === 'model') copy.model = marker;
  else if (slot === 'unknown-field') copy.rig_extra = marker;
  else if (slot === 'input') copy[chat ? 'messages' : 'prompt'] = marker;
  else if (slot === 'stop') copy.stop = marker;
  else if (chat) setPath(copy, 'messages.0.content', marker);
  else copy.prompt = [marker];
  return jsonWithRaw(copy, [raw]);
}

/** A JSON string literal whose content is `bytes`, as is (invalid UTF-8 stays invalid). */
const rawString = (...parts: Buffer[]) => Buffer.concat([Buffer.from('"'), ...parts, Buffer.from('"')]);

function mutate(request: Request, mutations: Mutation[]): Buffer {
  const copy = structuredClone(request);
  const raws: Buffer[] = [];
  const duplicates: Array<Extract<Mutation, { op: 'duplicate' }>> = [];
  for (const m of mutations) {
    if (m.op === 'drop') dropPath(copy, m.path);
    else if (m.op === 'retype') setPath(copy, m.path, m.value);
    else if (m.op === 'literal') {
      setPath(copy, m.path, SENTINEL(raws.length));
      raws.push(Buffer.from(m.literal));
    } else duplicates.push(m);
  }
  let text = jsonWithRaw(copy, raws);
  for (const d of duplicates) {
    const pair = Buffer.from(`${JSON.stringify(d.key)}:${JSON.stringify(d.value)}`);
    const inner = text.subarray(1, -1);
    const parts = inner.length === 0 ? [pair] : d.last ? [inner, pair] : [pair, inner];
    text = Buffer.concat([
      Buffer.from('{'),
      Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from(','), p] : [p]))),
      Buffer.from('}'),
    ]);
  }
  return text;
}

function padded(request: Request, size: number): Buffer {
  const bare = Buffer.byteLength(JSON.stringify({ ...request, rig_pad: '' }));
  return Buffer.from(JSON.stringify({ ...request, rig_pad: 'x'.repeat(Math.max(0, size - bare)) }));
}

function renderBody(b: BodyRecipe): Buffer {
  switch (b.kind) {
    case 'valid':
      return Buffer.from(JSON.stringify(b.request));
    case 'mutated':
      return mutate(b.request, b.mutations);
    case 'any-json':
      return Buffer.from(JSON.stringify(b.value));
    case 'deep':
      return b.at === 'top' ? nest(b.shape, b.depth) : withRaw(b.request, b.at, nest(b.shape, b.depth));
    case 'bad-utf8': {
      const bytes = Buffer.from(b.bytes);
      const model = Buffer.from(String(b.request.model));
      if (b.at === 'model') return withRaw(b.request, 'model', rawString(model, bytes));
      if (b.at === 'content') return withRaw(b.request, 'content', rawString(bytes));
      const text = Buffer.from(JSON.stringify(b.request));
      return Buffer.concat([text.subarray(0, 1), bytes, text.subarray(1)]);
    }
    case 'truncated': {
      const text = JSON.stringify(b.request);
      return Buffer.from(text.slice(0, b.cut % text.length));
    }
    case 'padded':
      return padded(b.request, b.size);
    case 'junk':
      return Buffer.from(b.bytes);
  }
}

const TARGETS: Record<HeadRecipe['target'], (path: string) => string> = {
  plain: (p) => p,
  query: (p) => `${p}?stream=true&model=x&model=y`,
  'bad-percent': (p) => `${p}%ZZ`,
  'encoded-slash': (p) => p.replace(/\/([a-z]+)$/, '%2F$1'),
  'trailing-slash': (p) => `${p}/`,
};

const EXTRAS: Record<Extra, Buffer> = {
  'expect-continue': Buffer.from('Expect: 100-continue'),
  'expect-unknown': Buffer.from('Expect: 200-ok'),
  'bad-header-name': Buffer.from('X Bad Name: 1'),
  'obs-fold': Buffer.from('X-Folded: a\r\n  b'),
  'huge-header': Buffer.from(`X-Big: ${'a'.repeat(20_000)}`),
  'content-encoding': Buffer.from('Content-Encoding: gzip'),
  'non-ascii-header': Buffer.concat([Buffer.from('X-Note: '), Buffer.from([0xff, 0xfe, 0xc3, 0x28])]),
};

function chunked(body: Buffer): Buffer {
  const third = Math.ceil(body.length / 3);
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += third) {
    const piece = body.subarray(at, at + third);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  return Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]);
}

/** Framing headers and the framed body. */
function frame(f: Framing, body: Buffer): { lines: string[]; framed: Buffer } {
  const n = body.length;
  const length = (v: number | string) => `Content-Length: ${v}`;
  switch (f) {
    case 'length':
      return { lines: [length(n)], framed: body };
    case 'chunked':
      return { lines: ['Transfer-Encoding: chunked'], framed: chunked(body) };
    case 'length-and-chunked':
      return { lines: [length(n), 'Transfer-Encoding: chunked'], framed: chunked(body) };
    case 'length-twice':
      return { lines: [length(n), length(n)], framed: body };
    case 'length-conflict':
      return { lines: [length(n), length(n + 1)], framed: body };
    case 'length-garbage':
      return { lines: [length(`${n}abc`)], framed: body };
    case 'length-over':
      return { lines: [length(n + 7)], framed: body };
    case 'length-under':
      return { lines: [length(Math.max(0, n - 7))], framed: body };
    case 'none':
      return { lines: [], framed: body };
  }
}

/** The bytes of a recipe, sent to `authority` (host:port, for the Host header). */
export function render(r: Recipe, authority: string): Rendered {
  const route = routeOf(r);
  const h = r.head;
  const body = renderBody(r.body);
  const { lines, framed } = frame(h.framing, body);
  const head: Buffer[] = [Buffer.from(`POST ${TARGETS[h.target](ROUTES[route])} HTTP/${h.version}`)];
  if (h.host !== 'missing') head.push(Buffer.from(`Host: ${authority}`));
  if (h.host === 'twice') head.push(Buffer.from('Host: other.example'));
  if (h.version === '1.1') head.push(Buffer.from('Connection: close'));
  for (const t of h.contentType) head.push(Buffer.from(`Content-Type: ${t}`));
  for (const line of lines) head.push(Buffer.from(line));
  if (h.extra) head.push(EXTRAS[h.extra]);
  const crlf = Buffer.from('\r\n');
  const bytes = Buffer.concat([...head.flatMap((line) => [line, crlf]), crlf, framed]);
  return { route, bytes, body, halfClose: h.framing === 'length-over' };
}
