// Every error the storage service (and its client SDK) can raise, in one place. `code` is stable and
// listed in README.md; on the wire an error is `{ error: { code, message } }` with `status`.

interface ErrorSpec {
  /** HTTP status on the wire; 0 for errors the client SDK raises itself (never sent by the server). */
  status: number;
  description: string;
}

export const STORAGE_ERRORS = {
  STORAGE_CONFIG_INVALID: {
    status: 500,
    description:
      'A config field or environment override is invalid; the message names the field, the allowed values and the env var.',
  },
  STORAGE_INVALID_INPUT: {
    status: 400,
    description: 'A body, query or header failed validation (or is not JSON); the message names the field.',
  },
  STORAGE_BAD_KEY: {
    status: 400,
    description:
      'An object key or id is not allowed: `..`, `.`, an absolute path, an encoded separator, a backslash or NUL; nothing was touched.',
  },
  STORAGE_INVALID_PART_NUMBER: {
    status: 400,
    description: 'A part number is not an integer between 1 and 10000, inclusive.',
  },
  STORAGE_INVALID_PART: {
    status: 400,
    description:
      'A part named in CompleteUpload was never uploaded, or its ETag does not match the stored part.',
  },
  STORAGE_INVALID_PART_ORDER: {
    status: 400,
    description: 'The parts list of CompleteUpload is empty or not in strictly ascending part-number order.',
  },
  STORAGE_PART_TOO_SMALL: {
    status: 400,
    description: 'A part other than the last is smaller than `minPartBytes` (checked at CompleteUpload).',
  },
  STORAGE_MANIFEST_INVALID: {
    status: 400,
    description:
      'A manifest body does not match the schema, or its chunks are not indexed 0..n-1 in order; the message names the field.',
  },
  STORAGE_FORBIDDEN: {
    status: 403,
    description: 'The download signature is missing or does not match the key and expiry (tampered URL).',
  },
  STORAGE_URL_EXPIRED: {
    status: 403,
    description: 'The signed download URL is past its `expires` time; ask GET /download/url for a new one.',
  },
  STORAGE_NOT_FOUND: {
    status: 404,
    description: 'No object, manifest or version with that key.',
  },
  STORAGE_NO_SUCH_UPLOAD: {
    status: 404,
    description: 'The upload id is unknown, already completed, aborted or expired.',
  },
  STORAGE_ROUTE_NOT_FOUND: {
    status: 404,
    description: 'No such route (or method) on this server.',
  },
  STORAGE_MANIFEST_NOT_APPENDABLE: {
    status: 409,
    description:
      'A manifest update changes or drops chunks already published, or changes a manifest that is completed or failed.',
  },
  STORAGE_PRECONDITION_FAILED: {
    status: 412,
    description:
      'If-None-Match: * on a manifest that exists, or If-Match that does not match the current ETag; re-read and retry.',
  },
  STORAGE_PART_TOO_LARGE: {
    status: 413,
    description: 'An uploaded part or object exceeds `maxPartBytes`; nothing was stored.',
  },
  STORAGE_MANIFEST_TOO_LARGE: {
    status: 413,
    description: 'A manifest body exceeds `maxManifestBytes`.',
  },
  STORAGE_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'A JSON route got a body that is not `application/json`.',
  },
  STORAGE_RANGE_NOT_SATISFIABLE: {
    status: 416,
    description:
      'The Range starts past the end of the object; `Content-Range: bytes */<size>` gives the size.',
  },
  STORAGE_PRECONDITION_REQUIRED: {
    status: 428,
    description:
      'A manifest write carried neither If-None-Match: * (create) nor If-Match: <etag> (update); unconditional writes could lose updates.',
  },
  STORAGE_TOO_MANY_WATCHERS: {
    status: 503,
    description:
      '`maxWatchers` long-polls and event streams are already open; retry after `Retry-After` seconds.',
  },
  STORAGE_BACKEND_FAILED: {
    status: 500,
    description: 'The storage backend (file system or S3) failed; the message carries its error.',
  },
  // Raised by the client SDK (StorageClient, StreamProducer, StreamConsumer), never sent by the server.
  STORAGE_HTTP_ERROR: {
    status: 0,
    description:
      'Client: the server could not be reached, or answered something that is not a storage error body.',
  },
  STORAGE_STREAM_STALE: {
    status: 0,
    description:
      'Client: StreamConsumer saw no manifest change for `staleMs` while the stream was generating.',
  },
  STORAGE_STREAM_FAILED: {
    status: 0,
    description: "Client: the producer marked the stream 'failed'; the message carries its reason.",
  },
  STORAGE_CONFLICT_RETRIES_EXHAUSTED: {
    status: 0,
    description: 'Client: StreamProducer got 412 on every one of `maxRetries` manifest updates.',
  },
  STORAGE_INTEGRITY_MISMATCH: {
    status: 0,
    description: 'Client: downloaded chunk bytes do not match the size or SHA-256 the manifest lists.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type StorageErrorCode = keyof typeof STORAGE_ERRORS;

export interface StorageErrorBody {
  error: { code: string; message: string };
}

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** HTTP status: the wire status for server errors, the answer's status (or 0) for client errors. */
  readonly status: number;
  /** Seconds, for 503 answers. */
  readonly retryAfterS: number | undefined;

  constructor(
    code: StorageErrorCode,
    message: string,
    opts: { status?: number; retryAfterS?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'StorageError';
    this.code = code;
    this.status = opts.status ?? STORAGE_ERRORS[code].status;
    this.retryAfterS = opts.retryAfterS;
  }

  toWire(): StorageErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

/** True when `code` names a known error (for the client, reading a server's answer). */
export function isStorageErrorCode(code: unknown): code is StorageErrorCode {
  return typeof code === 'string' && Object.hasOwn(STORAGE_ERRORS, code);
}
