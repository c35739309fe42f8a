// Answers to requests that never reach a route, in the OpenAI error shape like every other error:
// HTTP that node's parser refuses (conflicting or bad framing, bad header bytes, a head over
// node's maxHeaderSize, a head or body too slow), a URL that does not decode, an Expect other than
// 100-continue, and an HTTP/1.1 request without Host. Node and fastify answer these themselves
// otherwise, with an empty body or fastify's own `{ error, message, statusCode }`.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { InferenceError } from './errors.ts';

function parseError(err: Error & { code?: string; reason?: string }): InferenceError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new InferenceError(
      'INFERENCE_HEADERS_TOO_LARGE',
      'the request line and headers exceed the server limit (16 KiB); send fewer or shorter headers',
    );
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new InferenceError(
      'INFERENCE_CLIENT_TIMEOUT',
      'the request head or body did not arrive in time; send the whole request promptly',
    );
  }
  const why = err.reason ?? err.message;
  return new InferenceError(
    'INFERENCE_MALFORMED_HTTP',
    `malformed HTTP request (${err.code ?? 'parse error'}: ${why}); check Content-Length, Transfer-Encoding and header syntax`,
  );
}

/**
 * fastify's `clientErrorHandler`: what node's HTTP parser refused. Like node's own handler, it
 * answers only where no response has started on the socket (a pipelined request after a streaming
 * one), then destroys the socket: nothing after a framing error can be trusted.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // node keeps the response in progress on `_httpMessage` (its default handler checks it too)
  const inProgress = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inProgress?.headersSent) {
    const e = parseError(err);
    const body = JSON.stringify(e.toWire());
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** fastify's `frameworkErrors`: a URL that does not decode, a path parameter over its length. */
export function answerFrameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const e = new InferenceError(
    'INFERENCE_MALFORMED_HTTP',
    err.code === 'FST_ERR_BAD_URL' ? `${err.message}; percent-encode the path as UTF-8` : err.message,
    { status: err.statusCode ?? 400 },
  );
  reply.code(e.status).send(e.toWire());
}

/** The server's `checkExpectation` listener: any Expect but 100-continue (which node handles). */
export function answerExpectation(req: IncomingMessage, res: ServerResponse): void {
  const e = new InferenceError(
    'INFERENCE_EXPECTATION_FAILED',
    `Expect: ${req.headers.expect} is not supported; send no Expect header, or Expect: 100-continue`,
  );
  const body = JSON.stringify(e.toWire());
  res.writeHead(e.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/**
 * An onRequest hook: HTTP/1.1 requires Host (RFC 9112 3.2). The server is created with
 * `requireHostHeader: false` so that this answer, not node's empty 400, is what a client gets.
 */
export const requireHost: onRequestHookHandler = (req, _reply, done) => {
  const raw = req.raw;
  if (raw.headers.host === undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1) {
    done(new InferenceError('INFERENCE_MALFORMED_HTTP', 'an HTTP/1.1 request needs a Host header'));
    return;
  }
  done();
};
