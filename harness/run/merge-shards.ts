// `rig merge`: one run put back together from the shards of `rig run --shard I/N` (each a run
// directory, often downloaded from another CI job). vitest merges its own results from the shards'
// blob reports (`vitest --merge-reports`), so its reporters write the merged junit.xml and
// vitest-summary.json; rig joins the rest (run.json, figures, Allure results, the browser suites of
// shard 1) and then closes the merged run like any other (concludeRun: gate, reports, latest).
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { readTextFile, textLines } from '../config/text-file.ts';
import { formatZodIssues } from '../config/zod-error.ts';
import { RigError } from '../errors.ts';
import { allureLabelEnv } from '../report/allure.ts';
import { findRunDirs, type RunMeta, RunMetaSchema } from '../report/run-data.ts';
import { encodeRigEnv, readRigEnv } from './env.ts';
import { mergeJunit, type RunnerSummary, readSummary, runCounts, sumCounts } from './merge.ts';
import { concludeRun, newRunId, type RunOutcome, vitestBin } from './run.ts';
import { BROWSER_SUITES_DIR } from './select.ts';
import { BLOB_DIR, blobFile, formatShard, type Shard } from './shard.ts';
import { spawnRunner } from './spawn.ts';

/** Runs `vitest --merge-reports blobDir` with `env` added; resolves to its exit code. */
export type MergeReportsRunner = (job: {
  root: string;
  blobDir: string;
  env: Record<string, string>;
  quiet: boolean;
}) => Promise<number | null>;

export interface MergeOptions {
  root: string;
  /** Shard run directories named one by one. */
  runDirs?: string[];
  /** A folder searched (4 levels deep) for shard run directories, e.g. downloaded CI artifacts. */
  from?: string;
  /** The reports folder the merged run is written into (default `<root>/reports`). */
  out?: string;
  /** Merge although some shards of the run are missing (they are named in the log). */
  partial?: boolean;
  /**
   * Ends the merged run's id (`<stamp>-<profile>-<suffix>`), so that runs merged at the same
   * second on several machines (a CI matrix) keep distinct ids when their reports meet.
   */
  idSuffix?: string;
  /** Append the verdict table in Markdown to this file (a CI job summary: $GITHUB_STEP_SUMMARY). */
  summary?: string;
  /** Fail on a threshold breach or regression (default true). */
  gate?: boolean;
  strict?: boolean;
  json?: boolean;
  argv: string[];
  log?: (line: string) => void;
  /** How vitest merges the blob reports; default the repository's vitest. Tests may pass a fake. */
  mergeReports?: MergeReportsRunner;
}

/** A shard run as found on disk. */
interface ShardRun {
  dir: string;
  meta: RunMeta & { shard: Shard };
}

/** The repository's `vitest --merge-reports` in a child process, with the repository's config. */
export const spawnMergeReports: MergeReportsRunner = ({ root, blobDir, env, quiet }) =>
  spawnRunner({
    root,
    args: [vitestBin(root), 'run', '--config', 'vitest.config.ts', '--merge-reports', blobDir],
    env,
    quiet,
  });

/** A shard run directory, read and checked: run.json valid, made with --shard, its blob there. */
export function readShardRun(dir: string): ShardRun {
  const file = path.join(dir, 'run.json');
  if (!existsSync(file))
    throw new RigError('RIG_MERGE_INVALID', `${dir} has no run.json: it is not a run directory`);
  let json: unknown;
  try {
    json = JSON.parse(readTextFile(file));
  } catch (error) {
    throw new RigError('RIG_MERGE_INVALID', `${file} is not JSON (${(error as Error).message})`);
  }
  const parsed = RunMetaSchema.safeParse(json);
  if (!parsed.success)
    throw new RigError('RIG_MERGE_INVALID', `${file} does not validate: ${formatZodIssues(parsed.error)}`);
  const meta = parsed.data as RunMeta;
  if (!meta.shard)
    throw new RigError(
      'RIG_MERGE_INVALID',
      `${dir} (run ${meta.runId}) is not a shard: only runs of \`rig run --shard I/N\` can be merged`,
    );
  // vitest ran (it has an exit code) but wrote no blob: it was killed, and its tests are lost
  if (meta.vitestExitCode !== undefined && !existsSync(blobFile(dir, meta.shard)))
    throw new RigError(
      'RIG_MERGE_INVALID',
      `${dir} (shard ${formatShard(meta.shard)}) has no blob report ${path.join(BLOB_DIR, path.basename(blobFile(dir, meta.shard)))}: its vitest did not finish (exit ${meta.vitestExitCode})`,
    );
  return { dir, meta: meta as ShardRun['meta'] };
}

const commitOf = (meta: RunMeta) => (meta.environment as { commit?: string }).commit ?? 'unknown';

/** The one value every shard has for `key`, or a RIG_MERGE_MISMATCH naming who differs. */
function same(shards: ShardRun[], what: string, key: (s: ShardRun) => string): string {
  const values = new Map<string, string[]>();
  for (const s of shards) values.set(key(s), [...(values.get(key(s)) ?? []), s.meta.runId]);
  if (values.size > 1)
    throw new RigError(
      'RIG_MERGE_MISMATCH',
      `the shards have different ${what}: ${[...values].map(([v, ids]) => `${v} (${ids.join(', ')})`).join('; ')}`,
    );
  return key(shards[0] as ShardRun);
}

/**
 * Checks that `shards` are the parts of one run: one profile, commit, selection of files and
 * shard count, each index once, and (unless `partial`) every index there. Returns them by index.
 */
export function checkShards(shards: ShardRun[], partial = false): { shards: ShardRun[]; missing: number[] } {
  if (shards.length === 0)
    throw new RigError('RIG_MERGE_INVALID', 'no shard run directories: pass them, or --from DIR');
  same(shards, 'profiles', (s) => s.meta.profile);
  same(shards, 'commits', (s) => commitOf(s.meta));
  same(shards, 'shard counts (N of I/N)', (s) => String(s.meta.shard.count));
  same(shards, 'selections of test files', (s) => JSON.stringify([...s.meta.files].sort()));
  same(shards, 'injected slowdowns', (s) => String(s.meta.injected?.slowdown ?? 'none'));
  const sorted = [...shards].sort((a, b) => a.meta.shard.index - b.meta.shard.index);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1] as ShardRun, sorted[i] as ShardRun];
    if (a.meta.shard.index === b.meta.shard.index)
      throw new RigError(
        'RIG_MERGE_MISMATCH',
        `shard ${formatShard(a.meta.shard)} is given twice: ${a.dir} and ${b.dir}`,
      );
  }
  const count = (sorted[0] as ShardRun).meta.shard.count;
  const present = new Set(sorted.map((s) => s.meta.shard.index));
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !present.has(i));
  if (missing.length > 0 && !partial)
    throw new RigError(
      'RIG_MERGE_MISMATCH',
      `shards ${missing.map((i) => `${i}/${count}`).join(', ')} are missing (${sorted.length} of ${count} given)`,
      { hint: 'pass every shard of the run, or --partial to merge the ones there are' },
    );
  return { shards: sorted, missing };
}

/** The figure lines of every shard, in shard order, each exact duplicate once. */
function mergeFigures(shards: ShardRun[]): string {
  const seen = new Set<string>();
  for (const s of shards) {
    const file = path.join(s.dir, 'figures.jsonl');
    if (!existsSync(file)) continue;
    for (const line of textLines(readTextFile(file))) if (line.trim()) seen.add(line);
  }
  return [...seen].map((line) => `${line}\n`).join('');
}

/** Copies `from` (a file or folder) to `to` when it exists; files already there are kept. */
function copyIfThere(from: string, to: string): void {
  if (existsSync(from)) cpSync(from, to, { recursive: true, force: false, errorOnExist: false });
}

/**
 * The browser suites' results (shard 1 runs them): their summaries added up into the merged
 * playwright-summary.json, their junit folded into the merged junit.xml, their output copied.
 * Returns Playwright's exit codes.
 */
function mergeBrowserResults(shards: ShardRun[], dir: string): Array<number | null> {
  const summaries: RunnerSummary[] = [];
  for (const s of shards) {
    const summary = readSummary(path.join(s.dir, 'playwright-summary.json'));
    if (summary) summaries.push(summary);
    const junit = path.join(s.dir, 'playwright-junit.xml');
    if (existsSync(junit)) {
      const target = path.join(dir, 'junit.xml');
      const base = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
      writeFileSync(target, mergeJunit(base, readFileSync(junit, 'utf8'), `${BROWSER_SUITES_DIR}/`));
    }
    copyIfThere(path.join(s.dir, 'playwright-output'), path.join(dir, 'playwright-output'));
  }
  const counts = sumCounts(summaries);
  if (counts)
    writeFileSync(
      path.join(dir, 'playwright-summary.json'),
      `${JSON.stringify(
        {
          ...counts,
          failedFiles: summaries.flatMap((s) => s.failedFiles ?? []),
          unhandledErrors: summaries.reduce((n, s) => n + (s.unhandledErrors ?? 0), 0),
          skips: summaries.flatMap((s) => s.skips ?? []),
        },
        null,
        2,
      )}\n`,
    );
  return shards
    .filter((s) => s.meta.playwrightExitCode !== undefined)
    .map((s) => s.meta.playwrightExitCode ?? null);
}

/** The first failing exit code (null: killed), else 0. */
const worst = (codes: ReadonlyArray<number | null>) => codes.find((c) => c !== 0) ?? 0;

/**
 * `rig merge`: finds and checks the shard runs, writes one run directory (new run id) from them,
 * lets `vitest --merge-reports` write its junit.xml and vitest-summary.json, and closes it like
 * `rig run` (gate, reports, `latest`). Exit 1 when a shard's tests failed or the gate fails.
 */
export async function mergeShards(options: MergeOptions): Promise<RunOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (options.idSuffix !== undefined && !/^[A-Za-z0-9._-]{1,60}$/.test(options.idSuffix))
    throw new RigError(
      'RIG_USAGE',
      `--id-suffix "${options.idSuffix}" must be 1-60 letters, digits, ".", "_" or "-" (e.g. ubuntu-24.04-node22)`,
    );
  const dirs = new Set([
    ...(options.runDirs ?? []).map((d) => path.resolve(d)),
    ...(options.from !== undefined ? findShardRoot(options.from) : []),
  ]);
  const { shards, missing } = checkShards(
    [...dirs].map((d) => readShardRun(d)),
    options.partial,
  );
  const first = (shards[0] as ShardRun).meta;
  const reportsDir = path.resolve(options.out ?? path.join(options.root, 'reports'));
  mkdirSync(reportsDir, { recursive: true });
  const runId = newRunId(first.profile, reportsDir, options.idSuffix);
  const dir = path.join(reportsDir, runId);
  mkdirSync(dir, { recursive: true });
  log(
    `rig: merging ${shards.length} shards of ${first.shard.count} (profile ${first.profile}) -> ${path.relative(process.cwd(), dir) || dir}${missing.length ? `; missing: ${missing.map((i) => `${i}/${first.shard.count}`).join(', ')}` : ''}`,
  );

  // vitest's part: every shard's blob report in one folder, merged by vitest with the run's reporters
  const blobDir = path.join(dir, BLOB_DIR);
  mkdirSync(blobDir, { recursive: true });
  for (const s of shards) copyIfThere(path.join(s.dir, BLOB_DIR), blobDir);
  let mergeExit: number | null = 0;
  const blobs = readdirSync(blobDir).length > 0;
  if (blobs) {
    const env = {
      ...encodeRigEnv({
        RIG_RUN_DIR: dir,
        RIG_RUN_ID: runId,
        RIG_PROFILE: first.profile,
        RIG_TARGETS: first.targets,
        RIG_SHARD: undefined,
        RIG_INJECT_SLOWDOWN: undefined,
      }),
      ...allureLabelEnv(readRigEnv().RIG_ALLURE_LABELS),
    };
    try {
      mergeExit = await (options.mergeReports ?? spawnMergeReports)({
        root: options.root,
        blobDir,
        env,
        quiet: Boolean(options.json),
      });
    } catch (error) {
      log(`rig: vitest --merge-reports did not run: ${(error as Error).message}`);
      mergeExit = null;
    }
  }
  // vitest's Allure reporter re-renders every test from the blobs on this machine; the shards'
  // own results (their hosts, the browser suites' results) replace them
  rmSync(path.join(dir, 'allure-results'), { recursive: true, force: true });
  for (const s of shards) copyIfThere(path.join(s.dir, 'allure-results'), path.join(dir, 'allure-results'));
  writeFileSync(path.join(dir, 'figures.jsonl'), mergeFigures(shards));
  const playwrightExits = mergeBrowserResults(shards, dir);

  const shardTests = sumCounts(shards.map((s) => s.meta.tests));
  // without vitest's merged summary (it failed), the shards' own counts stand
  const vitestMerged = !blobs || readSummary(path.join(dir, 'vitest-summary.json')) !== undefined;
  const tests = (vitestMerged ? runCounts(dir) : undefined) ?? shardTests;
  if (tests && shardTests && tests.total !== shardTests.total)
    log(
      `rig: the merged run counts ${tests.total} tests, its shards ${shardTests.total} together (see junit.xml)`,
    );
  const vitestExits = [mergeExit, ...shards.map((s) => s.meta.vitestExitCode ?? 0)];
  const times = (pick: (m: RunMeta) => string | undefined) =>
    shards
      .map((s) => pick(s.meta))
      .filter((t): t is string => t !== undefined)
      .sort();
  const finished = times((m) => m.finishedAt);
  const meta: RunMeta = {
    runId,
    profile: first.profile,
    startedAt: times((m) => m.startedAt)[0] as string,
    ...(finished.length ? { finishedAt: finished[finished.length - 1] as string } : {}),
    argv: options.argv,
    files: [...new Set(shards.flatMap((s) => s.meta.files))],
    environment: first.environment,
    ...(tests ? { tests } : {}),
    vitestExitCode: worst(vitestExits),
    ...(playwrightExits.length ? { playwrightExitCode: worst(playwrightExits) } : {}),
    ...(first.targets ? { targets: first.targets } : {}),
    ...(first.injected ? { injected: first.injected } : {}),
    shards: shards.map((s) => ({ runId: s.meta.runId, ...s.meta.shard })),
  };
  writeFileSync(path.join(dir, 'run.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return concludeRun(dir, [...vitestExits, ...playwrightExits], tests, { ...options, log });
}

/** The shard runs under `--from DIR`; a DIR that is not a folder is RIG_MERGE_INVALID. */
function findShardRoot(from: string): string[] {
  const dir = path.resolve(from);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new RigError('RIG_MERGE_INVALID', `--from ${from} is not a folder`);
  const found = findRunDirs(dir);
  if (found.length === 0)
    throw new RigError('RIG_MERGE_INVALID', `--from ${from} holds no run directory (no run.json)`);
  return found;
}
