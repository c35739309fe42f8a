// Raw HTTP for suites that send what a well-behaved client never would: the path goes out byte
// for byte (no URL normalisation of `..`, `%2e` or `\\`), a body may go without a length (chunked),
// and an error answer is read as the `{ error: { code, message } }` body rig's systems send.
import http from 'node:http';
import https from 'node:https';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** `error.code` of a JSON error body, if any. */
  code: string | undefined;
  message: string | undefined;
}

export interface RawRequestOptions {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body in two writes without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

/** One request to `endpoint` (http or https) with `rawPath` sent exactly as given. */
export function rawRequest(
  endpoint: string,
  method: string,
  rawPath: string,
  o: RawRequestOptions = {},
): Promise<Answer> {
  const base = new URL(endpoint);
  const mod = base.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...o.headers };
    if (o.body !== undefined && !o.chunked) headers['content-length'] = Buffer.byteLength(o.body);
    const req = mod.request(
      { host: base.hostname, port: base.port, method, path: rawPath, headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          let error: { code?: unknown; message?: unknown } | undefined;
          try {
            error = (JSON.parse(text) as { error?: typeof error }).error;
          } catch {
            error = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            code: typeof error?.code === 'string' ? error.code : undefined,
            message: typeof error?.message === 'string' ? error.message : undefined,
          });
        });
      },
    );
    req.on('error', reject);
    if (o.body !== undefined && o.chunked) {
      const b = Buffer.from(o.body);
      const half = Math.floor(b.length / 2);
      req.write(b.subarray(0, half));
      req.end(b.subarray(half));
    } else {
      req.end(o.body);
    }
  });
}

/** A JSON body with its media type (a string is sent as is: malformed JSON on purpose). */
export function json(body: unknown, headers: Record<string, string> = {}): RawRequestOptions {
  return {
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/**
 * Collects every answer that is not the expected status with the expected error code and a
 * message, so that one assertion lists all the cases that went wrong.
 */
export class Expectations {
  readonly wrong: string[] = [];

  check(what: string, a: Answer, status: number, code: string): void {
    if (a.status !== status || a.code !== code || !a.message) {
      this.wrong.push(`${what}: expected ${status} ${code}, got ${a.status} ${a.text.slice(0, 160)}`);
    }
  }
}
