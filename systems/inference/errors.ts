// Every error the gateway can answer with, in one place. `code` is stable (listed in README.md);
// on the wire it becomes `{ error: { message, type, param, code } }` with `code` in lower case.

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'unavailable_error'
  | 'timeout_error'
  | 'server_error'
  | 'upstream_error';

interface ErrorSpec {
  status: number;
  type: OpenAIErrorType;
  description: string;
}

export const INFERENCE_ERRORS = {
  INFERENCE_CONFIG_INVALID: {
    status: 500,
    type: 'server_error',
    description:
      'A config field or environment override is invalid; the message names the field and the allowed values.',
  },
  INFERENCE_BAD_REQUEST: {
    status: 400,
    type: 'invalid_request_error',
    description: 'The request body failed validation (or is not JSON); `param` names the field.',
  },
  INFERENCE_UNSUPPORTED_PARAMETER: {
    status: 400,
    type: 'invalid_request_error',
    description:
      'A valid parameter this engine cannot honour (e.g. `n` > 1, json_schema on the dummy engine).',
  },
  INFERENCE_CONTEXT_LENGTH_EXCEEDED: {
    status: 400,
    type: 'invalid_request_error',
    description:
      "The prompt does not fit the model's context per request (`contextSize`, INFERENCE_CONTEXT_SIZE); the message gives both sizes.",
  },
  INFERENCE_MODEL_NOT_FOUND: {
    status: 404,
    type: 'invalid_request_error',
    description: 'The `model` is not served here; GET /v1/models lists the served ids.',
  },
  INFERENCE_ROUTE_NOT_FOUND: {
    status: 404,
    type: 'invalid_request_error',
    description: 'No such route.',
  },
  INFERENCE_METHOD_NOT_ALLOWED: {
    status: 405,
    type: 'invalid_request_error',
    description: 'The route exists but not for this method; the `Allow` header lists the methods.',
  },
  INFERENCE_BODY_TOO_LARGE: {
    status: 413,
    type: 'invalid_request_error',
    description: 'The body exceeds `bodyLimit` bytes (INFERENCE_BODY_LIMIT).',
  },
  INFERENCE_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    type: 'invalid_request_error',
    description: 'The body is not `application/json`.',
  },
  INFERENCE_MALFORMED_HTTP: {
    status: 400,
    type: 'invalid_request_error',
    description:
      'The request is not valid HTTP/1.1: conflicting or bad framing (Content-Length, Transfer-Encoding), a bad header, no Host, or a URL that does not decode (414 for a path segment over 100 characters); framing errors close the connection.',
  },
  INFERENCE_HEADERS_TOO_LARGE: {
    status: 431,
    type: 'invalid_request_error',
    description:
      "The request line and headers exceed node's maxHeaderSize (16 KiB); the connection is closed.",
  },
  INFERENCE_EXPECTATION_FAILED: {
    status: 417,
    type: 'invalid_request_error',
    description: 'An `Expect` header other than `100-continue`.',
  },
  INFERENCE_CLIENT_TIMEOUT: {
    status: 408,
    type: 'timeout_error',
    description:
      "The request's head or body did not arrive within node's headersTimeout / requestTimeout; the connection is closed.",
  },
  INFERENCE_QUEUE_FULL: {
    status: 429,
    type: 'rate_limit_error',
    description:
      'All slots are busy and `queueLimit` requests already wait; retry after `Retry-After` seconds.',
  },
  INFERENCE_QUEUE_TIMEOUT: {
    status: 503,
    type: 'unavailable_error',
    description: 'The request waited in the queue longer than `queueTimeoutMs`; retry later or raise slots.',
  },
  INFERENCE_REQUEST_TIMEOUT: {
    status: 408,
    type: 'timeout_error',
    description: 'Generation ran past `requestTimeoutMs` and was aborted.',
  },
  INFERENCE_CLIENT_CLOSED: {
    status: 499,
    type: 'invalid_request_error',
    description:
      'The client went away while its request waited for a slot; nobody reads this answer (counted as 499).',
  },
  INFERENCE_MODEL_LOADING: {
    status: 503,
    type: 'unavailable_error',
    description: 'The model is still loading; GET /health answers 200 once it is ready.',
  },
  INFERENCE_ENGINE_FAILED: {
    status: 500,
    type: 'server_error',
    description: 'The engine failed to load or to generate; the message carries its error.',
  },
  INFERENCE_UPSTREAM_FAILED: {
    status: 502,
    type: 'upstream_error',
    description: 'The upstream OpenAI-compatible server (openai-proxy engine) failed or answered an error.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type InferenceErrorCode = keyof typeof INFERENCE_ERRORS;

export class InferenceError extends Error {
  readonly code: InferenceErrorCode;
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly param: string | null;
  /** Seconds, for 429/503 answers. */
  readonly retryAfterS: number | undefined;

  constructor(
    code: InferenceErrorCode,
    message: string,
    opts: { param?: string | null; status?: number; retryAfterS?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'InferenceError';
    this.code = code;
    this.status = opts.status ?? INFERENCE_ERRORS[code].status;
    this.type = INFERENCE_ERRORS[code].type;
    this.param = opts.param ?? null;
    this.retryAfterS = opts.retryAfterS;
  }

  /** The OpenAI error body. */
  toWire(): { error: { message: string; type: string; param: string | null; code: string } } {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code.toLowerCase() },
    };
  }
}

export function isInferenceError(e: unknown): e is InferenceError {
  return e instanceof InferenceError;
}
