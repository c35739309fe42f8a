// One HTTP/1.x exchange over a bare TCP socket, for suites that must send bytes no HTTP client
// would: invalid UTF-8, conflicting or missing framing headers, bodies shorter than their
// Content-Length. The first final response (1xx skipped) is parsed as it arrives; what never came
// back is an outcome (`state: 'no-answer'` with what was received), not an exception.
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names in lower case; a repeated header keeps every value. */
  headers: Record<string, string[]>;
  body: Buffer;
}

export type Exchange =
  | { state: 'answered'; response: RawResponse }
  | { state: 'no-answer'; reason: string; received: Buffer };

export interface ExchangeOptions {
  /** Half-close after writing (a body shorter than its Content-Length only ends at EOF). */
  halfClose?: boolean;
  /** Give up after this many ms without a complete response. */
  timeoutMs: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');

interface Head {
  status: number;
  headers: Record<string, string[]>;
  bodyAt: number;
}

function parseHead(buf: Buffer, from: number): Head | undefined {
  const end = buf.indexOf(CRLF2, from);
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(from, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()];
  }
  return { status, headers, bodyAt: end + CRLF2.length };
}

/** The body of a chunked message from `at`, or undefined while the last chunk has not arrived. */
function dechunk(buf: Buffer, at: number): Buffer | undefined {
  const parts: Buffer[] = [];
  let i = at;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol === -1) return undefined;
    const size = Number.parseInt(buf.subarray(i, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return buf.indexOf(CRLF2, eol) === -1 ? undefined : Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

/** The first final response in `buf`, once complete; `closed`: the peer ended, so EOF delimits. */
export function parseResponse(buf: Buffer, closed: boolean): RawResponse | undefined {
  let from = 0;
  for (;;) {
    const head = parseHead(buf, from);
    if (!head || Number.isNaN(head.status)) return undefined;
    if (head.status >= 200 || head.status < 100) {
      const { status, headers, bodyAt } = head;
      if (headers['transfer-encoding']?.some((v) => /chunked/i.test(v))) {
        const body = dechunk(buf, bodyAt);
        return body ? { status, headers, body } : undefined;
      }
      const length = headers['content-length']?.[0];
      if (length !== undefined) {
        const n = Number(length);
        return buf.length >= bodyAt + n
          ? { status, headers, body: buf.subarray(bodyAt, bodyAt + n) }
          : undefined;
      }
      if (status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
      return closed ? { status, headers, body: buf.subarray(bodyAt) } : undefined;
    }
    from = head.bodyAt; // 100 Continue and other interim responses
  }
}

/** Writes `bytes` to host:port and reads the first final response. */
export function exchange(host: string, port: number, bytes: Buffer, o: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (result: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ state: 'no-answer', reason: `no complete response within ${o.timeoutMs} ms`, received }),
      o.timeoutMs,
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const response = parseResponse(received, false);
      if (response) finish({ state: 'answered', response });
    });
    socket.on('close', () => {
      const response = parseResponse(received, true);
      finish(
        response
          ? { state: 'answered', response }
          : { state: 'no-answer', reason: 'the server closed the connection without a response', received },
      );
    });
    // A reset after the answer arrived is the server closing a connection it would not read further.
    socket.on('error', () => undefined);
    socket.write(bytes, () => {
      if (o.halfClose) socket.end();
    });
  });
}
