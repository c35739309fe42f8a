import net from 'node:net';
import { RigError } from '../errors.ts';

/** What a wait strategy can look at. */
export interface WaitTarget {
  endpoint: string | undefined;
  host: string;
  port: number | undefined;
  logs: () => string;
  /** Set when the process exited before it was ready. */
  exited: () => { code: number | null } | undefined;
}

/** A readiness check with an explicit timeout that names what it waited for. */
export interface WaitStrategy {
  readonly description: string;
  readonly timeoutMs: number;
  waitUntilReady(target: WaitTarget): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll(
  strategy: WaitStrategy,
  target: WaitTarget,
  check: () => Promise<string | true>,
): Promise<void> {
  const deadline = Date.now() + strategy.timeoutMs;
  let last = 'no attempt yet';
  while (Date.now() < deadline) {
    const exited = target.exited();
    if (exited) {
      throw new RigError(
        'RIG_SYSTEM_EXITED',
        `exited with code ${exited.code} before ${strategy.description}; last log lines:\n${tail(target.logs())}`,
      );
    }
    const outcome = await check().catch((error: Error) => error.message);
    if (outcome === true) return;
    last = outcome;
    await sleep(50);
  }
  throw new RigError(
    'RIG_SYSTEM_NOT_READY',
    `${strategy.description} not satisfied after ${strategy.timeoutMs}ms (last: ${last}); last log lines:\n${tail(target.logs())}`,
  );
}

function tail(logs: string, lines = 20): string {
  return logs.split('\n').slice(-lines).join('\n');
}

export const Wait = {
  /** HTTP GET `path` on the endpoint answers `status` (default 200). */
  forHttp(path: string, options: { status?: number; timeoutMs?: number } = {}): WaitStrategy {
    const status = options.status ?? 200;
    const strategy: WaitStrategy = {
      description: `HTTP ${status} from GET ${path}`,
      timeoutMs: options.timeoutMs ?? 60_000,
      waitUntilReady: (target) =>
        poll(strategy, target, async () => {
          if (!target.endpoint) return 'no endpoint';
          const response = await fetch(new URL(path, target.endpoint), {
            signal: AbortSignal.timeout(2_000),
          });
          await response.arrayBuffer();
          return response.status === status ? true : `HTTP ${response.status}`;
        }),
    };
    return strategy;
  },
  /** A log line matches `pattern`. */
  forLogMessage(pattern: RegExp, options: { timeoutMs?: number } = {}): WaitStrategy {
    const strategy: WaitStrategy = {
      description: `log line matching ${pattern}`,
      timeoutMs: options.timeoutMs ?? 60_000,
      waitUntilReady: (target) =>
        poll(strategy, target, async () => (pattern.test(target.logs()) ? true : 'no matching line yet')),
    };
    return strategy;
  },
  /** A TCP connection to the port succeeds. */
  forPort(options: { timeoutMs?: number } = {}): WaitStrategy {
    const strategy: WaitStrategy = {
      description: 'TCP port accepting connections',
      timeoutMs: options.timeoutMs ?? 60_000,
      waitUntilReady: (target) =>
        poll(strategy, target, () => {
          const port = target.port;
          if (port === undefined) return Promise.resolve('no port');
          return new Promise<string | true>((resolve) => {
            const socket = net.connect({ host: target.host, port }, () => {
              socket.destroy();
              resolve(true);
            });
            socket.on('error', (error) => resolve(error.message));
          });
        }),
    };
    return strategy;
  },
  /** Nothing to wait for. */
  none(): WaitStrategy {
    return { description: 'nothing', timeoutMs: 0, waitUntilReady: async () => {} };
  },
};
