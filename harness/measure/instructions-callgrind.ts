// Runs one counting process under callgrind and reads what it counted. The process starts with
// instrumentation off (about 3x faster through Node's start and the workload's imports), says
// `ready` after setup and warm-up, and blocks on stdin; `callgrind_control -i on <pid>` switches
// instrumentation on, a line on stdin tells the runner to go, and each of its four marks makes callgrind
// dump a part file. Parts 2 and 4 hold the n and 3n segments; the `totals:` line of each is read.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MARKS } from './instructions-runner.ts';
import type { RunnerConfig, RunnerReport } from './instructions-types.ts';

const execFileAsync = promisify(execFile);

/**
 * Node's flags for a reproducible count. TurboFan stays on. `--predictable`: compilation and GC on
 * the main thread, at points fixed by the work done; fixed seeds; gc() for the runner. A fixed
 * 64 MiB young generation: a counted segment normally runs without a collection (one costs
 * millions of instructions at once, which no short count averages out). An 8x smaller interrupt
 * budget: functions reach TurboFan 8x sooner, so a few thousand warm-up calls reach the steady
 * state that would otherwise take tens of thousands (code quality is the same; tier-up sooner).
 */
export const NODE_FLAGS = [
  '--predictable',
  '--hash-seed=1',
  '--random-seed=1',
  '--expose-gc',
  '--min-semi-space-size=64',
  '--max-semi-space-size=64',
  '--interrupt-budget=8192',
] as const;

/** The native function whose entry makes callgrind dump (the runner's mark). */
export const DUMP_SYMBOL = 'uv_os_getpriority';

/** Event totals of one callgrind part: `Ir` always, the cache events with --cache-sim=yes. */
export type EventTotals = Record<string, number>;

export interface CallgrindPart {
  part: number;
  /** What triggered the dump, from the part's `desc: Trigger:` line. */
  trigger: string;
  totals: EventTotals;
}

/**
 * Parse one callgrind out file: its `part:`, its `events:` names and the `totals:` line (the
 * `summary:` line when a file has no totals). Throws when the file has neither.
 */
export function parseCallgrindOut(text: string): CallgrindPart {
  let part = 1;
  let trigger = '';
  let events: string[] = ['Ir'];
  let summary: number[] | undefined;
  let totals: number[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('part:')) part = Number(line.slice(5).trim());
    else if (line.startsWith('desc: Trigger:')) trigger = line.slice('desc: Trigger:'.length).trim();
    else if (line.startsWith('events:')) events = line.slice(7).trim().split(/\s+/);
    else if (line.startsWith('summary:')) summary = numbers(line.slice(8));
    else if (line.startsWith('totals:')) totals = numbers(line.slice(7));
  }
  const values = totals ?? summary;
  if (!values) throw new Error('callgrind out file has no totals: or summary: line');
  const result: EventTotals = {};
  // callgrind leaves out trailing zero counts.
  events.forEach((name, i) => {
    result[name] = values[i] ?? 0;
  });
  return { part, trigger, totals: result };
}

function numbers(s: string): number[] {
  return s
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((x) => {
      const v = Number(x);
      if (!Number.isFinite(v)) throw new Error(`callgrind total "${x}" is not a number`);
      return v;
    });
}

/** Every part file of one run (`out`, `out.1`, `out.2` ...), sorted by part number. */
export function readParts(outFile: string): CallgrindPart[] {
  const dir = path.dirname(outFile);
  const base = path.basename(outFile);
  return readdirSync(dir)
    .filter((f) => f === base || (f.startsWith(`${base}.`) && /^\d+$/.test(f.slice(base.length + 1))))
    .map((f) => parseCallgrindOut(readFileSync(path.join(dir, f), 'utf8')))
    .sort((a, b) => a.part - b.part);
}

/** The two counted segments of a run: part 2 (n calls) and part 4 (3n calls). */
export function segments(parts: CallgrindPart[]): { n: EventTotals; n3: EventTotals } {
  const expected = MARKS + 1;
  if (parts.length !== expected) {
    throw new Error(
      `expected ${expected} callgrind parts (${MARKS} marks + exit), found ${parts.length}: ` +
        `${parts.map((p) => `${p.part} (${p.trigger})`).join(', ')}; did something else call ${DUMP_SYMBOL}?`,
    );
  }
  return { n: parts[1]!.totals, n3: parts[3]!.totals };
}

export interface CountRequest {
  /** The runner's entry: a bundle (.mjs) or instructions-entry.ts (then `nodeArgs` has --import tsx). */
  entry: string;
  nodeArgs?: string[];
  config: RunnerConfig;
  cacheSim: boolean;
  timeoutMs: number;
  cwd: string;
}

export interface CountResult {
  n: EventTotals;
  n3: EventTotals;
  report: RunnerReport;
  wallMs: number;
}

/** A fixed, small environment: the same for every run, nothing of vitest's (NODE_OPTIONS) leaks in. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', LC_ALL: 'C' };
  if (process.env.HOME) env.HOME = process.env.HOME;
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  return env;
}

/** One counting process: n and 3n segments of one operation. Rejects with the process's log tail. */
export async function countOnce(req: CountRequest): Promise<CountResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rig-callgrind-'));
  const outFile = path.join(dir, 'callgrind.out');
  const args = [
    '-R',
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    `--dump-before=${DUMP_SYMBOL}`,
    `--callgrind-out-file=${outFile}`,
    `--cache-sim=${req.cacheSim ? 'yes' : 'no'}`,
    process.execPath,
    ...NODE_FLAGS,
    ...(req.nodeArgs ?? []),
    req.entry,
    JSON.stringify(req.config),
  ];
  const started = performance.now();
  const child = spawn('setarch', args, { cwd: req.cwd, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  // A runner that dies before the go-ahead closes its stdin: the write then fails (EPIPE), and the
  // exit code tells what happened.
  child.stdin.on('error', () => undefined);
  let stdout = '';
  let stderr = '';
  let failure: string | undefined;
  const timer = setTimeout(() => {
    failure = `timed out after ${req.timeoutMs} ms`;
    child.kill('SIGKILL');
  }, req.timeoutMs);
  const tail = () => `${stdout.slice(-2000)}${stderr.slice(-4000)}`;
  try {
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    let handshake: Promise<void> | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!handshake && stdout.includes('"ready":true')) {
        handshake = instrumentationOn(child.pid!).then(
          () => void child.stdin.end('go\n'),
          (error: Error) => {
            failure = `callgrind_control -i on ${child.pid} failed: ${error.message}`;
            child.kill('SIGKILL');
          },
        );
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const { code, signal } = await exit;
    await handshake;
    if (failure) throw new Error(`${failure}\n${tail()}`);
    if (signal) throw new Error(`the counting process was killed by ${signal} (not by rig)\n${tail()}`);
    if (code !== 0) throw new Error(`the counting process exited with ${code}\n${tail()}`);
    const last = stdout.trim().split('\n').pop() ?? '';
    const report = JSON.parse(last) as RunnerReport;
    if (!report.ok) throw new Error(`the runner did not report success\n${tail()}`);
    const { n, n3 } = segments(readParts(outFile));
    return { n, n3, report, wallMs: performance.now() - started };
  } catch (error) {
    if (error instanceof SyntaxError)
      throw new Error(`unreadable runner report: ${error.message}\n${tail()}`);
    throw error;
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Switches callgrind's instrumentation on in one process (never all: other runs may be counting). */
async function instrumentationOn(pid: number): Promise<void> {
  const { stdout } = await execFileAsync('callgrind_control', ['-i', 'on', String(pid)], {
    timeout: 60_000,
    env: childEnv(),
  });
  if (!/OK/.test(stdout)) throw new Error(`unexpected answer: ${stdout.trim()}`);
}
