import http from 'node:http';
import https from 'node:https';

/** One timed request or measured piece of work, as the driver tallies it. */
export interface ScenarioSample {
  label: string;
  /** Duration, ns. */
  ns: number;
  ok: boolean;
  /** Failures only: `HTTP 429`, `ECONNREFUSED`, `TimeoutError`, `CheckError` ... */
  kind?: string;
  /** Failures only: one line for the error samples. */
  message?: string;
}

export interface ScenarioRequestOptions {
  /** A JSON body; sent with content-type application/json. */
  json?: unknown;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /**
   * The endpoint label the request is tallied under; default `${METHOD} ${path}` with the path
   * as the task gave it, query dropped. Name requests whose path carries an id alike:
   * `GET /items/:id`.
   */
  name?: string;
  /** Which statuses count as success; default 100-399 (Locust's and k6's rule). */
  ok?: (status: number) => boolean;
  /** Judges the answer before it is tallied: throw to count the request as failed. */
  check?: (response: ScenarioResponse) => void;
  /** Fails the request after this long without a byte, ms; default the scenario's requestTimeoutMs. */
  timeoutMs?: number;
}

export interface ScenarioResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = unknown>(): T;
}

export interface ScenarioHttp {
  request(method: string, path: string, options?: ScenarioRequestOptions): Promise<ScenarioResponse>;
  get(path: string, options?: ScenarioRequestOptions): Promise<ScenarioResponse>;
  post(path: string, json: unknown, options?: ScenarioRequestOptions): Promise<ScenarioResponse>;
}

/** What a task is given: the target, the user's seeded randomness, its own keep-alive client. */
export interface ScenarioContext {
  /** The target's base URL, without a trailing slash. */
  baseUrl: string;
  user: { id: number; className: string };
  /** The user's own seeded generator in [0, 1): the same seed replays the same choices. */
  random: () => number;
  /** A uniform integer in [min, max], from `random`. */
  randomInt(min: number, max: number): number;
  /** A uniform pick, from `random`. */
  pick<T>(items: readonly T[]): T;
  /** This user's HTTP client (one keep-alive agent per user, as a browser session has). */
  http: ScenarioHttp;
  /** Time any other work (a WebSocket exchange, an SDK call) as one request under `label`. */
  measure<T>(label: string, work: () => Promise<T>): Promise<T>;
  /** Aborted when the run ends early; pass it to work that `measure` times. */
  signal: AbortSignal;
}

/** A request that failed: already tallied, so the driver does not count it again as a task failure. */
export class ScenarioRequestError extends Error {
  override readonly name = 'ScenarioRequestError';
  constructor(
    readonly label: string,
    readonly kind: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${label}: ${message}`);
  }
}

class CheckError extends Error {
  override readonly name = 'CheckError';
}

/** `HTTP 503`, an errno code (`ECONNRESET`), or the error's class name. */
export function failureKind(error: unknown): string {
  if (error instanceof ScenarioRequestError) return error.kind;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
  return error instanceof Error ? error.name : typeof error;
}

export function failureMessage(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 300);
}

interface ClientOptions {
  baseUrl: string;
  headers: Record<string, string>;
  requestTimeoutMs: number;
  /** The run's hard stop. */
  signal: AbortSignal;
  /** Where every timed sample goes; not called for work abandoned by the hard stop. */
  sink: (sample: ScenarioSample) => void;
}

/**
 * One user's HTTP client on node:http (no dependency, any HTTP/1.1 target): a keep-alive agent
 * of its own, so a user holds one connection like a browser session does and the target sees
 * as many connections as there are users. Each request is timed from its start to the end of
 * the body and tallied under its endpoint label.
 */
export class ScenarioClient implements ScenarioHttp {
  private readonly agents: { http?: http.Agent; https?: https.Agent } = {};
  private closed = false;

  constructor(private readonly options: ClientOptions) {}

  get(path: string, options?: ScenarioRequestOptions): Promise<ScenarioResponse> {
    return this.request('GET', path, options);
  }

  post(path: string, json: unknown, options?: ScenarioRequestOptions): Promise<ScenarioResponse> {
    return this.request('POST', path, { ...options, json });
  }

  async request(
    method: string,
    path: string,
    options: ScenarioRequestOptions = {},
  ): Promise<ScenarioResponse> {
    // Appended to the base URL (a target under a path prefix keeps it), unless absolute.
    const absolute = /^https?:\/\//.test(path);
    const url = absolute
      ? new URL(path)
      : new URL(`${this.options.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`);
    const verb = method.toUpperCase();
    const label =
      options.name ?? `${verb} ${absolute ? url.pathname : `/${path.replace(/^\/+/, '').split(/[?#]/)[0]}`}`;
    const headers: Record<string, string> = { ...this.options.headers, ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const start = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - start);
    let response: ScenarioResponse;
    try {
      response = await this.send(
        verb,
        url,
        headers,
        body,
        options.timeoutMs ?? this.options.requestTimeoutMs,
      );
    } catch (error) {
      const ns = elapsed();
      const kind = failureKind(error);
      if (!this.options.signal.aborted) {
        this.options.sink({ label, ns, ok: false, kind, message: failureMessage(error) });
      }
      throw new ScenarioRequestError(label, kind, failureMessage(error));
    }
    const ns = elapsed();
    const accepted = (options.ok ?? ((s: number) => s >= 100 && s < 400))(response.status);
    let failure: { kind: string; message: string } | undefined;
    if (!accepted) {
      failure = {
        kind: `HTTP ${response.status}`,
        message: `HTTP ${response.status} ${response.text.slice(0, 200)}`,
      };
    } else if (options.check) {
      try {
        options.check(response);
      } catch (error) {
        failure = { kind: 'CheckError', message: failureMessage(new CheckError(failureMessage(error))) };
      }
    }
    this.options.sink({ label, ns, ok: !failure, ...failure });
    if (failure) throw new ScenarioRequestError(label, failure.kind, failure.message, response.status);
    return response;
  }

  async measure<T>(label: string, work: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      const result = await work();
      this.options.sink({ label, ns: Number(process.hrtime.bigint() - start), ok: true });
      return result;
    } catch (error) {
      const kind = failureKind(error);
      if (!this.options.signal.aborted) {
        const ns = Number(process.hrtime.bigint() - start);
        this.options.sink({ label, ns, ok: false, kind, message: failureMessage(error) });
      }
      throw new ScenarioRequestError(label, kind, failureMessage(error));
    }
  }

  private agentFor(url: URL): http.Agent {
    if (url.protocol === 'https:') {
      this.agents.https ??= new https.Agent({ keepAlive: true });
      return this.agents.https;
    }
    this.agents.http ??= new http.Agent({ keepAlive: true });
    return this.agents.http;
  }

  private send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    timeoutMs: number,
  ): Promise<ScenarioResponse> {
    if (this.closed) return Promise.reject(new Error('the user was stopped'));
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        { method, headers, agent: this.agentFor(url), signal: this.options.signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          // A connection that closes mid-body ends the response without 'end'.
          res.on('close', () => {
            if (!res.complete)
              reject(Object.assign(new Error('the response closed before its end'), { code: 'ECONNRESET' }));
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              json: <T>() => JSON.parse(text) as T,
            });
          });
        },
      );
      req.setTimeout(timeoutMs, () => {
        const error = new Error(`no byte for ${timeoutMs} ms`);
        error.name = 'TimeoutError';
        req.destroy(error);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the user's connections (also those of requests still in flight). */
  close(): void {
    this.closed = true;
    this.agents.http?.destroy();
    this.agents.https?.destroy();
  }
}
