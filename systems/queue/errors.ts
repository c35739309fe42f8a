/**
 * Every error the queue raises on purpose, each with a stable `code` (README.md lists them all;
 * a unit test keeps the two in step) and a message that says what to do.
 */
export const QUEUE_ERROR_CODES = {
  QUEUE_FULL: 'wait (put with block: true), raise the timeout, or create the queue with more capacityBytes',
  QUEUE_EMPTY: 'wait (get with block: true) or raise the timeout; nothing was put in time',
  QUEUE_CLOSED: 'the queue was shut down or this handle closed; Queue.open(name) attaches again',
  QUEUE_MESSAGE_TOO_LARGE: 'send smaller messages or create the queue with a larger maxMessageBytes',
  QUEUE_CORRUPT: 'the segment is not a rig queue of this layout; destroy it and create it again',
  QUEUE_EXISTS: 'a queue of that name exists: Queue.open(name) attaches, Queue.unlink(name) removes it',
  QUEUE_NOT_FOUND: 'no queue of that name: Queue.create(name) first',
  QUEUE_INVALID_ARGUMENT: 'fix the named option; see systems/queue/README.md for the allowed values',
  QUEUE_UNSERIALIZABLE:
    'send values node:v8 can serialise (no functions, symbols or class instances with private state)',
  QUEUE_TASK_DONE_TOO_MANY:
    'call taskDone() once per message taken, never more often than messages were put (as Python raises ValueError)',
  QUEUE_JOIN_TIMEOUT: 'raise the timeout, or find the consumer that took messages without calling taskDone()',
  QUEUE_BUFFER_TOO_SMALL: 'pass a target buffer at least maxMessageBytes long',
  QUEUE_NATIVE_UNAVAILABLE:
    'build the addon: `node systems/queue/install.mjs` (needs gcc, g++, make, python3)',
  QUEUE_UNSUPPORTED_PLATFORM:
    'run the queue on Linux: a Linux container, or WSL 2 on Windows; systems/queue/README.md, "Platforms", says what a port needs',
  QUEUE_SYSTEM: 'an operating-system call failed; the message names it (check /dev/shm space and limits)',
} as const;

export type QueueErrorCode = keyof typeof QUEUE_ERROR_CODES;

export class QueueError extends Error {
  override name = 'QueueError';
  readonly code: QueueErrorCode;
  readonly hint: string;
  constructor(code: QueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${message} (${QUEUE_ERROR_CODES[code]})`, options?.cause === undefined ? undefined : options);
    this.code = code;
    this.hint = QUEUE_ERROR_CODES[code];
  }
}

export class QueueFull extends QueueError {
  override name = 'QueueFull';
  constructor(message: string) {
    super('QUEUE_FULL', message);
  }
}

export class QueueEmpty extends QueueError {
  override name = 'QueueEmpty';
  constructor(message: string) {
    super('QUEUE_EMPTY', message);
  }
}

export class QueueClosed extends QueueError {
  override name = 'QueueClosed';
  constructor(message: string) {
    super('QUEUE_CLOSED', message);
  }
}

export class MessageTooLarge extends QueueError {
  override name = 'MessageTooLarge';
  constructor(message: string) {
    super('QUEUE_MESSAGE_TOO_LARGE', message);
  }
}

export class QueueCorrupt extends QueueError {
  override name = 'QueueCorrupt';
  constructor(message: string) {
    super('QUEUE_CORRUPT', message);
  }
}

export function isQueueError(error: unknown): error is QueueError {
  return error instanceof QueueError;
}

/** Status numbers of the C core (rq_core.h, enum rq_status). */
export const Status = {
  OK: 0,
  EMPTY: 1,
  FULL: 2,
  CLOSED: 3,
  TOO_LARGE: 4,
  CORRUPT: 5,
  BUF_SMALL: 6,
  TIMEOUT: 7,
  EXISTS: 8,
  NOT_FOUND: 9,
  SYS: 10,
  INVALID: 11,
  CANCELLED: 12,
  TASK_DONE_TOO_MANY: 13,
} as const;

/** The typed error for a non-OK status of the C core; `what` names the operation and queue. */
export function errorFromStatus(status: number, what: string, detail = ''): QueueError {
  const suffix = detail ? `: ${detail}` : '';
  switch (status) {
    case Status.EMPTY:
    case Status.TIMEOUT:
      return new QueueEmpty(`${what}: the queue is empty${suffix}`);
    case Status.FULL:
      return new QueueFull(`${what}: the queue is full${suffix}`);
    case Status.CLOSED:
    case Status.CANCELLED:
      return new QueueClosed(`${what}: the queue is closed${suffix}`);
    case Status.TOO_LARGE:
      return new MessageTooLarge(`${what}: the message is larger than maxMessageBytes${suffix}`);
    case Status.CORRUPT:
      return new QueueCorrupt(`${what}: the segment failed its header or record checks${suffix}`);
    case Status.BUF_SMALL:
      return new QueueError('QUEUE_BUFFER_TOO_SMALL', `${what}: the target buffer is too small${suffix}`);
    case Status.EXISTS:
      return new QueueError('QUEUE_EXISTS', `${what}: the queue already exists${suffix}`);
    case Status.NOT_FOUND:
      return new QueueError('QUEUE_NOT_FOUND', `${what}: no such queue${suffix}`);
    case Status.TASK_DONE_TOO_MANY:
      return new QueueError(
        'QUEUE_TASK_DONE_TOO_MANY',
        `${what}: taskDone() called more times than messages were put${suffix}`,
      );
    case Status.INVALID:
      return new QueueError('QUEUE_INVALID_ARGUMENT', `${what}: invalid argument${suffix}`);
    default:
      return new QueueError('QUEUE_SYSTEM', `${what}: status ${status}${suffix}`);
  }
}
