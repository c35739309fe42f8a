// Readiness for the harness providers: HTTP 200 from a URL derived from the endpoint, polled until
// a deadline; the error names what was waited for and the last answer.
import type { WaitStrategy } from '../../harness/index.ts';

/** `http://h:p` or `http://h:p/v1` -> the server root and the OpenAI base URL. */
export function openaiUrls(endpoint: string): { root: string; v1: string } {
  const trimmed = endpoint.replace(/\/+$/, '');
  const root = trimmed.replace(/\/v1$/, '');
  return { root, v1: `${root}/v1` };
}

/** Polls GET `${root}${path}` (or `${v1}${path}` when `base` is 'v1') until it answers 200. */
export function waitForOk(
  path: string,
  opts: { base?: 'root' | 'v1'; timeoutMs?: number } = {},
): WaitStrategy {
  const base = opts.base ?? 'root';
  const strategy: WaitStrategy = {
    description: `HTTP 200 from GET ${base === 'v1' ? '/v1' : ''}${path}`,
    timeoutMs: opts.timeoutMs ?? 60_000,
    async waitUntilReady(target) {
      const deadline = Date.now() + strategy.timeoutMs;
      let last = 'no attempt yet';
      while (Date.now() < deadline) {
        const exited = target.exited();
        if (exited)
          throw new Error(
            `exited with code ${exited.code} before ${strategy.description}:\n${target.logs().slice(-2000)}`,
          );
        if (target.endpoint) {
          const urls = openaiUrls(target.endpoint);
          try {
            const res = await fetch(`${urls[base]}${path}`, { signal: AbortSignal.timeout(2_000) });
            await res.arrayBuffer();
            if (res.status === 200) return;
            last = `HTTP ${res.status}`;
          } catch (e) {
            last = (e as Error).message;
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${strategy.description} not satisfied after ${strategy.timeoutMs} ms (last: ${last})`);
    },
  };
  return strategy;
}
