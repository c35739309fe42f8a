// Builds the runner and one workload module into a single ES module with esbuild (the compiler
// tsx itself uses), so that a counted process starts as plain Node. Under callgrind the tsx loader
// costs ~1.5 G instructions and ~13 s per process start (its loader thread and esbuild service),
// which would put every figure past a minute; the code counted is the same TypeScript, compiled
// the same way. Packages stay external (fastify, protobufjs, the queue's addon load from
// node_modules as they do for users); the file lives in node_modules/.cache so that they resolve.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { REPO_ROOT } from '../systems/registry.ts';

const RUNNER = path.join(import.meta.dirname, 'instructions-runner.ts');
export const BUNDLE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'rig-instructions');

type Esbuild = typeof import('esbuild');

function esbuild(): Esbuild {
  // esbuild comes with tsx (a dependency of this repository); resolve it from there.
  const fromRoot = createRequire(path.join(REPO_ROOT, 'package.json'));
  return createRequire(fromRoot.resolve('tsx'))('esbuild') as Esbuild;
}

const META = /\bimport\.meta\.(url|dirname|filename)\b/g;

/**
 * A bundle moves every module into one file; `import.meta.url` and friends must still name the
 * module's own file (the queue finds its addon, the state store its .proto that way).
 */
const keepImportMeta: Plugin = {
  name: 'rig-keep-import-meta',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      const values: Record<string, string> = {
        url: pathToFileURL(args.path).href,
        dirname: path.dirname(args.path),
        filename: args.path,
      };
      return {
        contents: source.replace(META, (_m, key: string) => JSON.stringify(values[key])),
        loader: 'ts',
      };
    });
  },
};

const HARNESS_DIR = path.join(REPO_ROOT, 'harness') + path.sep;

/**
 * Workloads import harness/index.ts, which also re-exports the load drivers, reporters and
 * vitest hooks. Harness modules have no import-time side effects, so marking them side-effect free
 * lets esbuild keep only what a workload uses (vitest, for one, must not load outside a test).
 */
const harnessWithoutSideEffects: Plugin = {
  name: 'rig-harness-side-effect-free',
  setup(build) {
    build.onResolve({ filter: /^(\.{1,2})?\// }, async (args) => {
      if ((args.pluginData as { inner?: boolean } | undefined)?.inner) return undefined;
      const r = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { inner: true },
      });
      if (r.errors.length > 0) return { errors: r.errors };
      return { ...r, sideEffects: r.path.startsWith(HARNESS_DIR) ? false : r.sideEffects };
    });
  },
};

const built = new Map<string, Promise<string>>();

/** The bundled runner for one workload module (built once per process; content-addressed file). */
export function bundleRunner(workload: string): Promise<string> {
  let file = built.get(workload);
  if (!file) {
    file = build(workload);
    built.set(workload, file);
  }
  return file;
}

async function build(workload: string): Promise<string> {
  const entry = [
    `import * as workload from ${JSON.stringify(workload)};`,
    `import { runnerMain } from ${JSON.stringify(RUNNER)};`,
    'await runnerMain(workload);',
  ].join('\n');
  let code: string;
  try {
    const result = await esbuild().build({
      stdin: { contents: entry, resolveDir: REPO_ROOT, sourcefile: 'instructions-entry.mjs', loader: 'js' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      packages: 'external',
      plugins: [harnessWithoutSideEffects, keepImportMeta],
      logLevel: 'silent',
    });
    code = result.outputFiles[0]!.text;
  } catch (error) {
    throw new Error(`cannot bundle ${workload}: ${(error as Error).message}`, { cause: error });
  }
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 12);
  mkdirSync(BUNDLE_DIR, { recursive: true });
  const file = path.join(BUNDLE_DIR, `${path.basename(workload, '.ts')}-${hash}.mjs`);
  // Another run may write the same file at the same moment: write aside, then rename.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
  return file;
}
