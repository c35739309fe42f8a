// Requests refused before any route (client-errors.ts) answer in the OpenAI error shape, over a
// bare socket because no HTTP client sends them.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFERENCE_ERRORS } from '../errors.ts';
import { type Running, startGateway } from './helpers.ts';

/** Sends `head` (lines joined with CRLF) and `body`, returns the status line's code and the body. */
function send(url: string, head: string[], body = ''): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const parts: Buffer[] = [];
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(parts).toString();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      if (Number.isNaN(status)) reject(new Error(`no HTTP response: ${JSON.stringify(text)}`));
      else resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}

const BODY = '{"model":"dummy","messages":[{"role":"user","content":"hi"}],"max_tokens":2}';
const post = (path = '/v1/chat/completions') => [`POST ${path} HTTP/1.1`, 'Host: x', 'Connection: close'];
const json = 'Content-Type: application/json';

function expectError(got: { status: number; body: string }, code: keyof typeof INFERENCE_ERRORS): void {
  expect(got.status).toBe(INFERENCE_ERRORS[code].status);
  expect(JSON.parse(got.body)).toEqual({
    error: {
      message: expect.any(String),
      type: INFERENCE_ERRORS[code].type,
      param: null,
      code: code.toLowerCase(),
    },
  });
}

describe('errors before routing', () => {
  let s: Running;
  beforeAll(async () => {
    s = await startGateway({ engine: 'dummy' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a well-formed request over a bare socket: 200 (the helper itself)', async () => {
    const ok = await send(s.url, [...post(), json, `Content-Length: ${BODY.length}`], BODY);
    expect(ok.status).toBe(200);
  });

  it('malformed framing and headers: 400 INFERENCE_MALFORMED_HTTP', async () => {
    const n = BODY.length;
    const heads = [
      [...post(), json, `Content-Length: ${n}`, `Content-Length: ${n + 1}`],
      [...post(), json, `Content-Length: ${n}`, 'Transfer-Encoding: chunked'],
      [...post(), json, `Content-Length: ${n}abc`],
      [...post(), json, `Content-Length: ${n}`, 'X Bad: 1'],
      [...post(), json, `Content-Length: ${n + 7}`], // EOF before the announced body
      ['POST /v1/chat/completions HTTP/1.1', 'Connection: close', json, `Content-Length: ${n}`], // no Host
      [...post('/v1/chat/completions%ZZ'), json, `Content-Length: ${n}`],
    ];
    for (const head of heads) expectError(await send(s.url, head, BODY), 'INFERENCE_MALFORMED_HTTP');
  });

  it('a head over 16 KiB: 431; an unknown Expect: 417; a text/plain body: 415', async () => {
    const big = [...post(), `X-Big: ${'a'.repeat(20_000)}`, json, `Content-Length: ${BODY.length}`];
    expectError(await send(s.url, big, BODY), 'INFERENCE_HEADERS_TOO_LARGE');
    const expect200 = [...post(), 'Expect: 200-ok', json, `Content-Length: ${BODY.length}`];
    expectError(await send(s.url, expect200, BODY), 'INFERENCE_EXPECTATION_FAILED');
    const text = [...post(), 'Content-Type: text/plain', `Content-Length: ${BODY.length}`];
    expectError(await send(s.url, text, BODY), 'INFERENCE_UNSUPPORTED_MEDIA_TYPE');
  });

  it('a model id over the router limit: 414 in the OpenAI shape', async () => {
    const res = await fetch(`${s.url}/v1/models/${'m'.repeat(150)}`);
    expect(res.status).toBe(414);
    expect(await res.json()).toMatchObject({ error: { code: 'inference_malformed_http', param: null } });
  });
});
