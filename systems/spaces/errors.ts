// Every error the spaces relay (and its MockApp) can raise, in one place. `code` is stable and listed
// in README.md. Over HTTP an error is `{ error: { code, message } }` with `status`; in a socket.io ack
// it is `{ ok: false, error: { code, message } }`; in a stored request it is the request's `result.error`.

interface ErrorSpec {
  /** HTTP status; 0 for codes that never travel as an HTTP answer (acks, stored results, client). */
  status: number;
  description: string;
}

export const SPACES_ERRORS = {
  SPACES_CONFIG_INVALID: {
    status: 500,
    description:
      'A config field or environment override is invalid; the message names the field, the allowed values and the env var.',
  },
  SPACES_INVALID_INPUT: {
    status: 400,
    description:
      'A body, query or event payload failed validation (or is not JSON); the message names the field.',
  },
  SPACES_UNAUTHORIZED: {
    status: 401,
    description:
      'Admin route without `Authorization: Bearer <admin token>` or with a wrong one; in a `register` ack: the app token does not belong to that space.',
  },
  SPACES_FEATURE_DISABLED: {
    status: 403,
    description:
      'An admin turned the feature off (`submissions`, `registrations` or `web_ui`); PATCH /admin/features turns it back on.',
  },
  SPACES_SPACE_DISABLED: {
    status: 403,
    description:
      'The space is disabled: new submits are refused; requests already queued are still dispatched.',
  },
  SPACES_NOT_REGISTERED: {
    status: 403,
    description: 'A socket sent `inference_result` before a successful `register`.',
  },
  SPACES_SPACE_NOT_FOUND: {
    status: 404,
    description: 'No space with that id.',
  },
  SPACES_REQUEST_NOT_FOUND: {
    status: 404,
    description: 'No request with that id.',
  },
  SPACES_ROUTE_NOT_FOUND: {
    status: 404,
    description: 'No such route (or method) on this server.',
  },
  SPACES_SPACE_EXISTS: {
    status: 409,
    description: 'POST /admin/spaces named a space id that already exists.',
  },
  SPACES_LATE_RESULT: {
    status: 409,
    description:
      'An `inference_result` for a request this connection no longer holds: it timed out, was re-dispatched after a disconnect, or another attempt already finished it. Nothing is stored.',
  },
  SPACES_PAYLOAD_TOO_LARGE: {
    status: 413,
    description:
      'An HTTP body over `maxBodyBytes`. (A socket.io message over `maxMessageBytes` closes that connection: socket.io refuses it before any handler runs.)',
  },
  SPACES_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'A JSON route got a body that is not `application/json`.',
  },
  SPACES_QUEUE_FULL: {
    status: 429,
    description:
      'The space already holds `maxQueuePerSpace` queued requests; retry after `Retry-After` seconds.',
  },
  SPACES_STORE_FAILED: {
    status: 500,
    description: 'The SQLite store failed; the message carries its error. Nothing was acknowledged.',
  },
  SPACES_INTERNAL_ERROR: {
    status: 500,
    description: 'An unexpected server error; the message carries it (and the server log its stack).',
  },
  // Stored in a request's result (status timeout or failed), never an HTTP answer.
  SPACES_REQUEST_TIMEOUT: {
    status: 0,
    description: 'Result: the request reached no result within `requestTimeoutMs` of its submit.',
  },
  SPACES_ATTEMPTS_EXHAUSTED: {
    status: 0,
    description: 'Result: the request was dispatched `maxAttempts` times and each app dropped it.',
  },
  SPACES_SPACE_DELETED: {
    status: 0,
    description: 'Result: an admin deleted the space while the request was queued or dispatched.',
  },
  SPACES_APP_ERROR: {
    status: 0,
    description:
      'Result: the app answered `{ request_id, error }`; the message (and `app_code`) are the app’s.',
  },
  // Raised by MockApp (the client side), never sent by the server.
  SPACES_REGISTER_REFUSED: {
    status: 0,
    description: 'MockApp: the server refused `register`; the message carries its error.',
  },
  SPACES_CONNECT_FAILED: {
    status: 0,
    description: 'MockApp: no connection and registration within `connectTimeoutMs`.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type SpacesErrorCode = keyof typeof SPACES_ERRORS;

export interface SpacesErrorBody {
  error: { code: string; message: string };
}

export class SpacesError extends Error {
  readonly code: SpacesErrorCode;
  readonly status: number;
  /** Seconds, for 429 answers (sent as Retry-After). */
  readonly retryAfterS: number | undefined;

  constructor(
    code: SpacesErrorCode,
    message: string,
    opts: { status?: number; retryAfterS?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'SpacesError';
    this.code = code;
    this.status = opts.status ?? SPACES_ERRORS[code].status;
    this.retryAfterS = opts.retryAfterS;
  }

  toWire(): SpacesErrorBody {
    return { error: { code: this.code, message: this.message } };
  }

  /** The `{ ok: false, error }` form of a socket.io ack. */
  toAck(): { ok: false; error: { code: string; message: string } } {
    return { ok: false, error: { code: this.code, message: this.message } };
  }
}

export function isSpacesError(e: unknown, code?: SpacesErrorCode): e is SpacesError {
  return e instanceof SpacesError && (code === undefined || e.code === code);
}
