// Load against anyone's HTTP endpoint: `rig run --suite load --target http=http://127.0.0.1:8080/path`.
// Closed model at three connection counts, then an open model at a quarter of the best closed rate, with
// latency measured from each request's intended start.
import http from 'node:http';
import https from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { httpLoad, openLoop, profile, recordHttpLoad, recordLoad, targetFor } from '../../harness/index.ts';

const url = targetFor('http');
const SKIP = 'no --target http=URL given; this suite measures an HTTP endpoint you name';
const agentOptions = { keepAlive: true, maxSockets: 256 };
const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
afterAll(() => {
  agents.http.destroy();
  agents.https.destroy();
});

/** One keep-alive GET; resolves on a 2xx/3xx, rejects otherwise. */
function get(target: string): Promise<void> {
  const secure = target.startsWith('https:');
  const client = secure ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(target, { agent: secure ? agents.https : agents.http }, (res) => {
      res.resume();
      res.on('end', () =>
        (res.statusCode ?? 500) < 400 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
  });
}

describe('http target', () => {
  let best = 0;

  for (const connections of [1, 10, 50]) {
    it(`closed model, ${connections} connections`, async (ctx) => {
      if (!url) return ctx.skip(SKIP);
      // autocannon runs in a child process of its own, warmed up on the target before the window.
      const r = await httpLoad({
        url,
        connections,
        durationMs: profile().durationMs,
        warmupMs: profile().warmupMs,
      });
      best = Math.max(best, r.rps);
      await recordHttpLoad(`http.target.c${connections}`, r, {
        method: `GET ${url}, ${connections} keep-alive connections, after a ${profile().warmupMs} ms unrecorded warm-up`,
      });
      expect(r.requests + r.errors, r.invalidReason).toBeGreaterThan(0);
    });
  }

  it('open model at a quarter of the best closed rate', async (ctx) => {
    if (!url) return ctx.skip(SKIP);
    // The open-model client runs in this process and is slower than autocannon's; a quarter of
    // the best closed rate keeps it below its own limit (the validity guard says if not).
    const rate = Math.max(1, Math.floor(best / 4));
    const r = await openLoop({
      rate,
      durationMs: profile().durationMs,
      warmupMs: profile().warmupMs,
      op: () => get(url),
    });
    await recordLoad('http.target.open', r, {
      method: `keep-alive GET ${url}, constant arrivals`,
      unit: 'req/s',
    });
    expect(r.completed + r.errors).toBeGreaterThan(0);
  });
});
