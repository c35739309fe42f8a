/**
 * Every error the harness raises on purpose. Each has a stable `code` (documented in
 * docs/errors.md; a unit test keeps the two in step) and a message that says what to do.
 */
export const ERROR_CODES = {
  RIG_CONFIG_INVALID: { exit: 2, hint: 'fix the named field; `rig --help` lists the options' },
  RIG_USAGE: { exit: 2, hint: 'run `rig --help` for the commands and options' },
  RIG_PROFILE_UNKNOWN: { exit: 2, hint: 'use one of the profiles listed by `rig run --help`' },
  RIG_SYSTEM_UNKNOWN: { exit: 2, hint: 'run `rig systems` to list the registered systems' },
  RIG_SYSTEM_NOT_READY: { exit: 1, hint: 'the system did not become ready; its log is attached' },
  RIG_SYSTEM_EXITED: { exit: 1, hint: 'the system process exited early; its log is attached' },
  RIG_TARGET_INVALID: {
    exit: 2,
    hint: 'give targets as --target name=http://host:port (or https, ws, wss), or RIG_TARGET_<NAME>',
  },
  RIG_DOCKER_UNAVAILABLE: { exit: 0, hint: 'start a Docker engine to run container-provider cases' },
  RIG_RUN_NOT_FOUND: { exit: 2, hint: 'run `rig run` first, or pass --run reports/<run-id>' },
  RIG_THRESHOLDS_INVALID: { exit: 2, hint: 'thresholds look like "< 50us" or "> 1e6 msg/s"' },
  RIG_BASELINE_INVALID: { exit: 2, hint: 'rewrite it with `rig gate --update-baseline`' },
  RIG_BASELINE_REFUSED: {
    exit: 1,
    hint: 'fix the failing tests or breaches and run again, or pass --force to take the run anyway',
  },
  RIG_UNIT_MISMATCH: { exit: 2, hint: 'a threshold must use a unit of the same kind as its figure' },
  RIG_FIGURE_INVALID: { exit: 2, hint: 'a figure needs an id like system.operation.variant.statistic' },
  RIG_LOAD_INVALID: { exit: 2, hint: 'load options need a positive duration or count' },
  RIG_REPORT_FAILED: { exit: 1, hint: 'see the message; the run data in reports/<run-id> is intact' },
  RIG_MERGE_INVALID: {
    exit: 2,
    hint: 'pass the run directories of `rig run --shard I/N` (each with run.json and blob/), or --from a folder holding them',
  },
  RIG_MERGE_MISMATCH: {
    exit: 2,
    hint: 'merge the shards of one run: one profile, one commit, one selection, every shard I of N once',
  },
  RIG_SITE_INVALID: {
    exit: 2,
    hint: 'rig site needs runs in --from (reports/) and, with --history, a site rig built before',
  },
} as const;

export type RigErrorCode = keyof typeof ERROR_CODES;

export class RigError extends Error {
  override readonly name = 'RigError';
  readonly code: RigErrorCode;
  readonly exitCode: number;
  readonly hint: string;
  constructor(code: RigErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = ERROR_CODES[code].exit;
    this.hint = options?.hint ?? ERROR_CODES[code].hint;
  }
}

export function isRigError(error: unknown): error is RigError {
  return error instanceof RigError;
}
