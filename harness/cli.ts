import { appendFileSync, existsSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { parse, parseTargets, splitList, summaryFile } from './cli/args.ts';
import { calibrateCommand } from './cli/calibrate.ts';
import { combineAllureCommand } from './cli/combine.ts';
import { doctor, formatChecks } from './cli/doctor.ts';
import { HELP } from './cli/help.ts';
import { loadRigConfig } from './config/rig-config.ts';
import { isRigError, RigError } from './errors.ts';
import { baselineRefusals } from './gate/acceptance.ts';
import {
  baselineFromFigures,
  baselinePath,
  machineOf,
  readBaseline,
  writeBaseline,
} from './gate/baseline.ts';
import { gateRun } from './gate/run-gate.ts';
import { formatVerdictMarkdown, formatVerdictTable } from './gate/table.ts';
import { loadThresholds } from './gate/thresholds.ts';
import { generateAllure, loadRun, writeReports, writeSiteIndex } from './report/index.ts';
import { buildSite } from './report/site/build.ts';
import { mergeShards } from './run/merge-shards.ts';
import { runSuites } from './run/run.ts';
import { parseShard } from './run/shard.ts';
import { providerNamed, providersOf } from './systems/providers/index.ts';
import { listSystems, loadSystem, REPO_ROOT } from './systems/registry.ts';
import { startSystem } from './systems/start.ts';

const root = REPO_ROOT;

/** The run a command works on: --run, else reports/latest. */
function resolveRunDir(given: string | undefined): string {
  if (given) {
    const dir = path.resolve(given);
    if (!existsSync(path.join(dir, 'run.json')))
      throw new RigError('RIG_RUN_NOT_FOUND', `${given} is not a run directory`);
    return dir;
  }
  const latest = path.join(root, 'reports', 'latest');
  if (!existsSync(latest)) throw new RigError('RIG_RUN_NOT_FOUND', 'no run found in reports/');
  return path.join(root, 'reports', readlinkSync(latest));
}

async function cmdRun(args: string[]): Promise<number> {
  const { values } = parse(args, {
    profile: { type: 'string', default: 'smoke' },
    system: { type: 'string' },
    suite: { type: 'string' },
    target: { type: 'string', multiple: true },
    'no-gate': { type: 'boolean' },
    strict: { type: 'boolean' },
    json: { type: 'boolean' },
    'inject-slowdown': { type: 'string' },
    shard: { type: 'string' },
    summary: { type: 'string' },
  });
  if (values.help) return help('run');
  const shard = values.shard === undefined ? undefined : parseShard(values.shard as string);
  const summary = summaryFile(values.summary as string | undefined);
  const targets = parseTargets(values.target as string[] | undefined);
  const inject = values['inject-slowdown'] === undefined ? undefined : Number(values['inject-slowdown']);
  if (inject !== undefined && !(inject > 0 && inject <= 10))
    throw new RigError('RIG_USAGE', '--inject-slowdown must be a fraction from 0 to 10 (0.15 = 15% slower)');
  const outcome = await runSuites({
    root,
    profile: values.profile as string,
    ...(splitList(values.suite as string | undefined) ? { suites: splitList(values.suite as string)! } : {}),
    ...(splitList(values.system as string | undefined)
      ? { systems: splitList(values.system as string)! }
      : {}),
    targets,
    gate: !values['no-gate'],
    strict: Boolean(values.strict),
    json: Boolean(values.json),
    ...(inject !== undefined ? { injectSlowdown: inject } : {}),
    ...(shard ? { shard } : {}),
    ...(summary !== undefined ? { summary } : {}),
    argv: ['run', ...args],
  });
  return outcome.exitCode;
}

async function cmdMerge(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      from: { type: 'string' },
      out: { type: 'string' },
      partial: { type: 'boolean' },
      'id-suffix': { type: 'string' },
      summary: { type: 'string' },
      'no-gate': { type: 'boolean' },
      strict: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (values.help) return help('merge');
  if (positionals.length === 0 && values.from === undefined)
    throw new RigError('RIG_USAGE', 'use: rig merge <shard run dir>... [--from DIR] [--out reports/]');
  const summary = summaryFile(values.summary as string | undefined);
  const outcome = await mergeShards({
    root,
    runDirs: positionals,
    ...(values.from !== undefined ? { from: values.from as string } : {}),
    ...(values.out !== undefined ? { out: values.out as string } : {}),
    partial: Boolean(values.partial),
    ...(values['id-suffix'] !== undefined ? { idSuffix: values['id-suffix'] as string } : {}),
    ...(summary !== undefined ? { summary } : {}),
    gate: !values['no-gate'],
    strict: Boolean(values.strict),
    json: Boolean(values.json),
    argv: ['merge', ...args],
  });
  return outcome.exitCode;
}

async function cmdReport(args: string[]): Promise<number> {
  const { values } = parse(args, {
    run: { type: 'string' },
    'no-allure': { type: 'boolean' },
    combine: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help) return help('report');
  if (values.combine !== undefined) {
    if (values.run !== undefined || values['no-allure'])
      throw new RigError(
        'RIG_USAGE',
        '--combine makes only the Allure report of many runs: no --run, no --no-allure',
      );
    const index = await combineAllureCommand({
      root,
      from: values.combine as string,
      ...(values.out !== undefined ? { out: values.out as string } : {}),
      log: (line) => console.log(line),
    });
    console.log(`wrote ${path.relative(process.cwd(), index)}`);
    return 0;
  }
  if (values.out !== undefined) throw new RigError('RIG_USAGE', '--out goes with --combine');
  const run = loadRun(resolveRunDir(values.run as string | undefined));
  gateRun(run, { root });
  const { written, errors } = writeReports(run);
  for (const e of errors) console.error(`rig report: ${e}`);
  const site = writeSiteIndex(path.join(root, 'reports'));
  let allure: string | undefined;
  if (!values['no-allure']) {
    console.log('rig report: generating the Allure report ...');
    allure = await generateAllure(run, root);
  }
  for (const f of [...written, ...(allure ? [allure] : []), site])
    console.log(`wrote ${path.relative(process.cwd(), f)}`);
  return errors.length ? 1 : 0;
}

async function cmdGate(args: string[]): Promise<number> {
  const { values } = parse(args, {
    run: { type: 'string' },
    baseline: { type: 'string' },
    thresholds: { type: 'string', multiple: true },
    tolerance: { type: 'string' },
    alpha: { type: 'string' },
    strict: { type: 'boolean' },
    'update-baseline': { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    markdown: { type: 'boolean' },
    summary: { type: 'string' },
  });
  if (values.help) return help('gate');
  if (values.json && values.markdown)
    throw new RigError('RIG_USAGE', '--json and --markdown exclude each other');
  const summary = summaryFile(values.summary as string | undefined);
  const run = loadRun(resolveRunDir(values.run as string | undefined));
  if (values['update-baseline']) {
    const file = (values.baseline as string | undefined) ?? baselinePath(root, run.meta.profile);
    const config = loadRigConfig(root);
    const rules = loadThresholds(
      root,
      config.thresholds.map((f) => path.resolve(root, f)),
    );
    const refusals = baselineRefusals(run, rules);
    if (refusals.length > 0) {
      const why = `run ${run.meta.runId} may not become the baseline: ${refusals.join('; ')}`;
      if (!values.force) throw new RigError('RIG_BASELINE_REFUSED', why);
      console.log(`rig gate: --force: ${why}`);
    }
    const commit = (run.meta.environment as { commit?: string }).commit;
    const previous = readBaseline(file);
    const baseline = baselineFromFigures(
      run.figures,
      {
        profile: run.meta.profile,
        runId: run.meta.runId,
        ...(commit ? { commit } : {}),
        ...(machineOf(run.meta.environment) ? { machine: machineOf(run.meta.environment)! } : {}),
      },
      previous,
    );
    writeBaseline(file, baseline);
    const kept = Object.values(baseline.figures).filter((e) => e.spread !== undefined).length;
    console.log(
      `rig gate: wrote ${path.relative(process.cwd(), file)} with ${Object.keys(baseline.figures).length} figures from ${run.meta.runId}; ${kept} keep the between-run spread of the previous calibration${kept < Object.keys(baseline.figures).length ? ' (run `rig calibrate` to measure the others)' : ''}`,
    );
    return 0;
  }
  const alpha = values.alpha === undefined ? undefined : Number(values.alpha);
  if (alpha !== undefined && !(alpha > 0 && alpha < 0.5))
    throw new RigError(
      'RIG_USAGE',
      '--alpha must be a number between 0 and 0.5 (the Holm family-wise level; default 0.005)',
    );
  let tolerance: number | undefined;
  if (values.tolerance !== undefined) {
    tolerance = Number(values.tolerance);
    if (!(tolerance >= 0 && tolerance <= 10))
      throw new RigError('RIG_USAGE', '--tolerance must be a number from 0 to 10 (0.2 = 20%)');
  }
  const result = gateRun(run, {
    root,
    ...(values.baseline ? { baselineFile: path.resolve(values.baseline as string) } : {}),
    ...(values.thresholds
      ? { thresholdFiles: (values.thresholds as string[]).map((f) => path.resolve(f)) }
      : {}),
    ...(tolerance !== undefined ? { tolerance } : {}),
    ...(alpha !== undefined ? { alpha } : {}),
    ...(values.strict ? { strict: true } : {}),
  });
  writeReports(run, ['json', 'junit']);
  const markdown = () =>
    formatVerdictMarkdown(result, { title: `run ${run.meta.runId}, profile ${run.meta.profile}` });
  if (summary !== undefined) appendFileSync(summary, `${markdown()}\n`);
  if (values.json)
    console.log(
      JSON.stringify({ exitCode: result.exitCode, summary: result.summary, verdicts: result.verdicts }),
    );
  else if (values.markdown) console.log(markdown());
  else {
    console.log(
      `rig gate: run ${run.meta.runId} (profile ${run.meta.profile}), baseline ${existsSync(result.baselineFile) ? path.relative(process.cwd(), result.baselineFile) : 'none'}`,
    );
    console.log(formatVerdictTable(result));
  }
  return result.exitCode;
}

async function cmdCalibrate(args: string[]): Promise<number> {
  const { values } = parse(args, {
    profile: { type: 'string', default: 'smoke' },
    system: { type: 'string' },
    suite: { type: 'string' },
    runs: { type: 'string' },
    'from-runs': { type: 'string' },
    baseline: { type: 'string' },
    alpha: { type: 'string' },
    force: { type: 'boolean' },
    add: { type: 'boolean' },
  });
  if (values.help) return help('calibrate');
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  const alpha = values.alpha === undefined ? undefined : Number(values.alpha);
  if (alpha !== undefined && !(alpha > 0 && alpha < 0.5))
    throw new RigError(
      'RIG_USAGE',
      '--alpha must be a number between 0 and 0.5 (the Holm family-wise level; default 0.005)',
    );
  const suites = splitList(values.suite as string | undefined);
  const systems = splitList(values.system as string | undefined);
  const fromRuns = splitList(values['from-runs'] as string | undefined);
  await calibrateCommand({
    root,
    profile: values.profile as string,
    ...(runs !== undefined ? { runs } : {}),
    ...(suites ? { suites } : {}),
    ...(systems ? { systems } : {}),
    ...(fromRuns ? { fromRuns } : {}),
    ...(values.baseline ? { baselineFile: path.resolve(values.baseline as string) } : {}),
    ...(alpha !== undefined ? { alpha } : {}),
    force: Boolean(values.force),
    add: Boolean(values.add),
  });
  return 0;
}

/** `--port N`: an integer 1-65535, else RIG_USAGE. */
function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RigError('RIG_USAGE', `--port must be an integer 1-65535 (got "${value}")`);
  return port;
}

/** The flags `rig systems start` reads itself; every other `--flag` is a start option of the system. */
const START_FLAGS = new Set(['provider', 'port', 'host', 'help']);

/** The zod type name of a start option (`number`, `boolean`, `string`, ...), optional/default looked through. */
function optionType(schema: unknown, key: string): string | undefined {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  let node = shape?.[key] as { unwrap?: () => unknown; _zod?: { def?: { type?: string } } } | undefined;
  while (node && typeof node.unwrap === 'function') node = node.unwrap() as typeof node;
  return node?._zod?.def?.type;
}

/**
 * Splits what follows `rig systems start <name>` into the command's own flags and the system's start
 * options: `--delay-ms 50` -> `{ delayMs: 50 }`, `--verbose` -> `{ verbose: true }`,
 * `--fail-rate=0.1` -> `{ failRate: 0.1 }`. Values are converted by the type the system's options
 * schema gives the field (number, boolean), so that the schema judges them; a flag it does not know
 * is passed as it is and refused there (RIG_CONFIG_INVALID naming the allowed options).
 */
export function splitStartArgs(
  args: string[],
  schema: unknown,
): { own: string[]; options: Record<string, unknown> } {
  const own: string[] = [];
  const options: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    const flag = m?.[1];
    if (!m || !flag || START_FLAGS.has(flag) || arg === '-h') {
      own.push(arg);
      // a value of the command's own flag travels with it
      if (flag && flag !== 'help' && START_FLAGS.has(flag) && m[2] === undefined && i + 1 < args.length)
        own.push(args[++i] as string);
      continue;
    }
    const key = flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const type = optionType(schema, key);
    let raw = m[2];
    if (raw === undefined) {
      const next = args[i + 1];
      const takesValue =
        type === 'boolean'
          ? next === 'true' || next === 'false'
          : next !== undefined && !next.startsWith('--');
      if (takesValue) {
        raw = next;
        i++;
      }
    }
    if (raw === undefined) {
      if (type !== undefined && type !== 'boolean')
        throw new RigError('RIG_USAGE', `--${flag} needs a value (start option ${key} of this system)`);
      options[key] = true;
    } else if (type === 'boolean') {
      options[key] = raw === 'true' ? true : raw === 'false' ? false : raw;
    } else if (type === 'number' && raw.trim() !== '' && Number.isFinite(Number(raw))) {
      options[key] = Number(raw);
    } else {
      options[key] = raw;
    }
  }
  return { own, options };
}

async function cmdSystems(args: string[]): Promise<number> {
  // `start <name>` first: the flags after it that are not the command's own are the system's options
  const starting = args[0] === 'start' && args[1] !== undefined && !args[1].startsWith('-');
  const definition = starting ? await loadSystem(args[1] as string) : undefined;
  const split = starting ? splitStartArgs(args.slice(2), definition?.options) : { own: args, options: {} };
  const { values, positionals } = parse(
    starting ? [...args.slice(0, 2), ...split.own] : args,
    { provider: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
    true,
  );
  if (values.help) return help('systems');
  const [sub = 'list', name] = positionals;
  if (sub === 'list') {
    for (const n of listSystems()) {
      const def = await loadSystem(n);
      console.log(
        `${n.padEnd(14)} ${def.description} [providers: ${providersOf(def).join(', ')}; default ${def.defaultProvider}]`,
      );
    }
    return 0;
  }
  if (sub !== 'start' || !name)
    throw new RigError(
      'RIG_USAGE',
      'use: rig systems start <name> [--port N] [--host H] [--provider p] [--<option> value ...]',
    );
  const provider = values.provider === undefined ? undefined : providerNamed(values.provider as string);
  const port = parsePort(values.port as string | undefined);
  const host = values.host as string | undefined;
  if (host === '') throw new RigError('RIG_USAGE', '--host must name an address, e.g. 0.0.0.0');
  const started = await startSystem(name, {
    ...(Object.keys(split.options).length > 0 ? { options: split.options } : {}),
    ...(provider ? { provider } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(host !== undefined ? { host } : {}),
  });
  console.log(
    `${name} started (${started.provider})${started.endpoint ? ` at ${started.endpoint}` : ''}${started.pid && started.provider === 'process' ? `, pid ${started.pid}` : ''}${host ? `, listening on ${host}` : ''}`,
  );
  if (!started.endpoint)
    console.log('it has no network endpoint: use it in-process through its API, or --provider process');
  console.log('press Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await started.stop();
  console.log(`${name} stopped`);
  return 0;
}

/** A whole number from a flag, or the default; anything else is a usage error naming the flag. */
function intFlag(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new RigError('RIG_USAGE', `--${name} must be a whole number >= ${min}`);
  return n;
}

async function cmdSite(args: string[]): Promise<number> {
  const { values } = parse(args, {
    out: { type: 'string' },
    from: { type: 'string' },
    history: { type: 'string' },
    keep: { type: 'string' },
    'allure-keep': { type: 'string' },
    'allure-report': { type: 'string' },
  });
  if (values.help) return help('site');
  const config = loadRigConfig(root);
  const result = buildSite({
    root,
    from: path.resolve((values.from as string | undefined) ?? path.join(root, 'reports')),
    out: path.resolve((values.out as string | undefined) ?? path.join(root, 'site')),
    ...(values.history ? { history: values.history as string } : {}),
    ...(values['allure-report'] ? { allureReport: values['allure-report'] as string } : {}),
    keep: intFlag(values.keep, 'keep', config.site.keep, 1),
    allureKeep: intFlag(values['allure-keep'], 'allure-keep', config.site.allureKeep, 0),
    thresholds: loadThresholds(
      root,
      config.thresholds.map((f) => path.resolve(root, f)),
    ),
    log: (line) => console.log(line),
  });
  const shown = path.relative(process.cwd(), result.index);
  console.log(`open ${shown.startsWith('..') ? result.index : shown}`);
  return 0;
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  if (values.help) return help('doctor');
  const checks = await doctor(root);
  console.log(values.json ? JSON.stringify(checks) : formatChecks(checks));
  return 0;
}

function help(topic: string): number {
  console.log(HELP[topic] ?? HELP.main);
  return 0;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  run: cmdRun,
  merge: cmdMerge,
  report: cmdReport,
  gate: cmdGate,
  calibrate: cmdCalibrate,
  systems: cmdSystems,
  doctor: cmdDoctor,
  site: cmdSite,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help')
    return help(rest[0] ?? 'main');
  const fn = COMMANDS[command];
  if (!fn)
    throw new RigError(
      'RIG_USAGE',
      `unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')}`,
    );
  return fn(rest);
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    if (isRigError(error)) {
      console.error(`rig: ${error.message} [${error.code}]\n  fix: ${error.hint}`);
      process.exitCode = error.exitCode || 1;
      return;
    }
    console.error(error);
    process.exitCode = 1;
  }
}
