// Hostile and careless clients of the spaces relay. Apps: a register without a token, with a wrong
// one, or with another space's token is refused, and the refused socket gets no request and may not
// answer one; an app of space A never sees space B's requests and cannot answer them. Payloads: a
// submit body over maxBodyBytes gets 413 and queues nothing; a socket message over maxMessageBytes
// closes that connection and stores nothing. Admin: every /admin route answers 401 without the admin
// token, with a wrong one, or with an app token, and changes nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { useSystem } from '../../harness/index.ts';
import { spacesSystem } from '../../systems/spaces/index.ts';
import { rawRequest } from '../_helpers/raw-http.ts';
import {
  adminToken,
  type RawApp,
  ResultTracker,
  rawApp,
  SpacesHttp,
  sleep,
  until,
} from '../_helpers/spaces-workload.ts';

const ADMIN = adminToken();
const LIMIT = 16 * 1024;
const system = useSystem(spacesSystem, {
  options: { adminToken: ADMIN, maxBodyBytes: LIMIT, maxMessageBytes: LIMIT, registerTimeoutMs: 10_000 },
});
const tokens: Record<'a' | 'b', string> = { a: '', b: '' };
let http: SpacesHttp;
const opened: RawApp[] = [];

beforeAll(async () => {
  http = new SpacesHttp(system().endpoint, ADMIN, 8);
  tokens.a = await http.createSpace('sec-a');
  tokens.b = await http.createSpace('sec-b');
  return async () => {
    for (const a of opened) a.close();
    http.close();
  };
});

async function app(): Promise<RawApp> {
  const a = await rawApp(system().endpoint);
  opened.push(a);
  return a;
}

async function space(id: string) {
  return (
    await http.request<{ queue_size: number; in_flight: number; connections: number }>('GET', `/spaces/${id}`)
  ).body;
}

async function metric(name: string): Promise<number> {
  const text = (await http.request<string>('GET', '/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('spaces security', () => {
  it('register without a token, with a wrong one, or with another space’s token: refused, and the socket gets nothing', async () => {
    const attempts: Array<[string, unknown, string]> = [
      ['no token', undefined, 'SPACES_INVALID_INPUT'],
      ['empty token', '', 'SPACES_INVALID_INPUT'],
      ['a wrong token', `${tokens.a}x`, 'SPACES_UNAUTHORIZED'],
      ['space B’s token', tokens.b, 'SPACES_UNAUTHORIZED'],
      ['a token of no space', 'spt_not-a-token-of-any-space', 'SPACES_UNAUTHORIZED'],
      ['a non-string token', { $ne: null }, 'SPACES_INVALID_INPUT'],
    ];
    const refused: RawApp[] = [];
    const answers: Record<string, unknown> = {};
    for (const [what, token, code] of attempts) {
      const a = await app();
      const ack = await a.socket
        .timeout(5000)
        .emitWithAck('register', { space_id: 'sec-a', ...(token === undefined ? {} : { token }) });
      answers[what] = ack;
      expect(ack, what).toMatchObject({ ok: false, error: { code } });
      refused.push(a);
    }
    // an unknown space answers exactly like a wrong token: space ids cannot be probed
    const probe = await (await app()).register('no-such-space', tokens.a);
    expect(probe.error?.code).toBe('SPACES_UNAUTHORIZED');
    expect(probe.error?.message).toBe(
      (answers['a wrong token'] as typeof probe).error?.message.replace('sec-a', 'no-such-space'),
    );
    expect((await space('sec-a')).connections).toBe(0);

    // a request for space A waits for a registered app: none of the refused sockets gets it
    const id = await http.submit('sec-a', 'for registered apps only');
    const good = await app();
    expect((await good.register('sec-a', tokens.a)).ok).toBe(true);
    await until(() => good.requests.length === 1, 'the registered app to get the request');
    expect(refused.map((a) => a.requests.length)).toEqual(refused.map(() => 0));
    // nor may a refused socket answer it
    const forged = await refused[3]!.result({ request_id: id, attempt: 1, output: 'forged' });
    expect(forged).toMatchObject({ ok: false, error: { code: 'SPACES_NOT_REGISTERED' } });
    expect(await good.result({ request_id: id, attempt: 1, output: 'real' })).toEqual({ ok: true });
    expect(await http.status(id)).toMatchObject({ status: 'completed', result: 'real' });
    good.close();
  });

  it('an app of space A never receives space B’s requests, and cannot answer them', async () => {
    const tracker = new ResultTracker();
    const appA = await app();
    const appB = await app();
    expect((await appA.register('sec-a', tokens.a, 8)).ok).toBe(true);
    expect((await appB.register('sec-b', tokens.b, 8)).ok).toBe(true);
    // B's app holds its requests unanswered; A's app answers its own at once
    appA.socket.on('inference_request', (msg: { request_id: string; input: unknown; attempt: number }) => {
      void appA
        .result({ request_id: msg.request_id, attempt: msg.attempt, output: { echo: msg.input } })
        .then((ack) => {
          if (ack.ok) tracker.note(msg.request_id);
        });
    });
    const forA = await Promise.all(Array.from({ length: 20 }, (_, i) => http.submit('sec-a', { a: i })));
    const forB = await Promise.all(Array.from({ length: 8 }, (_, i) => http.submit('sec-b', { b: i })));
    await Promise.all(forA.map((id) => tracker.stored(id, 10_000)));
    await until(() => appB.requests.length === 8, 'space B’s app to hold its 8 requests');
    expect(appA.requests.map((r) => r.request_id).sort()).toEqual([...forA].sort());
    expect(appB.requests.map((r) => r.request_id).sort()).toEqual([...forB].sort());

    // A's app answering B's request (with the right attempt) is refused, and B's request is untouched
    for (const id of forB.slice(0, 3)) {
      const ack = await appA.result({ request_id: id, attempt: 1, output: 'from the wrong space' });
      expect(ack).toMatchObject({ ok: false, error: { code: 'SPACES_LATE_RESULT' } });
      expect(await http.status(id)).toMatchObject({ status: 'dispatched', attempts: 1 });
    }
    // and the real app of B still answers them
    for (const r of appB.requests) {
      expect(await appB.result({ request_id: r.request_id, attempt: r.attempt, output: 'b' })).toEqual({
        ok: true,
      });
    }
    for (const id of forB) expect(await http.status(id)).toMatchObject({ status: 'completed', result: 'b' });
    appA.close();
    appB.close();
  });

  it('a submit body over maxBodyBytes: 413 SPACES_PAYLOAD_TOO_LARGE, nothing queued', async () => {
    const before = await metric('spaces_submits_total');
    const big = { space_id: 'sec-a', input: 'x'.repeat(LIMIT + 1) };
    const a = await http.request<{ error: { code: string } }>('POST', '/websockets/submit', big);
    expect(a.status).toBe(413);
    expect(a.body.error.code).toBe('SPACES_PAYLOAD_TOO_LARGE');
    // also without a Content-Length (chunked): the limit holds on what arrives
    const chunked = await rawRequest(system().endpoint, 'POST', '/websockets/submit', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(big),
      chunked: true,
    });
    expect(chunked.code).toBe('SPACES_PAYLOAD_TOO_LARGE');
    expect(chunked.status).toBe(413);
    // just under the limit is fine
    const fits = { space_id: 'sec-a', input: 'x'.repeat(LIMIT - 100) };
    const ok = await http.request('POST', '/websockets/submit', fits);
    expect(ok.status).toBe(200);
    expect(await metric('spaces_submits_total')).toBe(before + 1);
  });

  it('a socket message over maxMessageBytes closes that connection and stores nothing', async () => {
    const holder = await app();
    expect((await holder.register('sec-b', tokens.b)).ok).toBe(true);
    const id = await http.submit('sec-b', 'small question');
    await until(() => holder.requests.some((r) => r.request_id === id), 'the app to hold the request');
    const closed = new Promise<string>((resolve) =>
      holder.socket.once('disconnect', (reason) => resolve(reason)),
    );
    holder.socket.emit('inference_result', { request_id: id, attempt: 1, output: 'y'.repeat(LIMIT * 2) });
    expect(await closed).toMatch(/transport (close|error)/);
    // the request went back to the queue, its oversized answer not stored
    await until(async () => (await http.status(id)).status === 'queued', 'the request to be queued again');
    const next = await app();
    expect((await next.register('sec-b', tokens.b)).ok).toBe(true);
    await until(() => next.requests.some((r) => r.request_id === id), 'a second app to get the request');
    expect(await next.result({ request_id: id, attempt: 2, output: 'fits' })).toEqual({ ok: true });
    expect(await http.status(id)).toMatchObject({ status: 'completed', attempts: 2, result: 'fits' });

    // an oversized register closes its connection before any handler runs
    const greedy = await app();
    const gone = new Promise<string>((resolve) =>
      greedy.socket.once('disconnect', (reason) => resolve(reason)),
    );
    greedy.socket.emit('register', { space_id: 'sec-b', token: 'z'.repeat(LIMIT * 2) });
    expect(await gone).toMatch(/transport (close|error)/);
    next.close();
  });

  it('every admin route: 401 without the admin token, with a wrong one, or with an app token; nothing changes', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/admin/spaces'],
      ['POST', '/admin/spaces', { space_id: 'sec-intruder' }],
      ['PATCH', '/admin/spaces/sec-a', { rotate_token: true }],
      ['PATCH', '/admin/spaces/sec-a', { enabled: false }],
      ['DELETE', '/admin/spaces/sec-a'],
      ['GET', '/admin/features'],
      ['PATCH', '/admin/features', { submissions: false }],
      ['GET', '/admin/connections'],
      ['GET', '/admin/requests'],
      ['GET', '/admin/requests?space_id=sec-a'],
    ];
    const credentials: Array<[string, Record<string, string>]> = [
      ['none', {}],
      ['wrong token', { authorization: `Bearer ${ADMIN}x` }],
      ['app token', { authorization: `Bearer ${tokens.a}` }],
      ['not Bearer', { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` }],
      ['token in the query', {}],
    ];
    const before = (await http.adminRequest('GET', '/admin/spaces')).body;
    const failures: string[] = [];
    for (const [method, path, body] of routes) {
      for (const [what, headers] of credentials) {
        const p =
          what === 'token in the query' ? `${path}${path.includes('?') ? '&' : '?'}token=${ADMIN}` : path;
        const a = await http.request<{ error?: { code: string } }>(method, p, body, headers);
        if (a.status !== 401 || a.body.error?.code !== 'SPACES_UNAUTHORIZED')
          failures.push(`${method} ${p} (${what}): ${a.status} ${JSON.stringify(a.body)}`);
      }
    }
    expect(failures).toEqual([]);
    await sleep(50);
    expect((await http.adminRequest('GET', '/admin/spaces')).body).toEqual(before);
    expect((await http.adminRequest('GET', '/admin/features')).body).toEqual({
      features: { submissions: true, registrations: true, web_ui: true },
    });
    // the app token still works: it was not rotated
    const a = await app();
    expect((await a.register('sec-a', tokens.a)).ok).toBe(true);
    a.close();
  });
});
