import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerUnavailableReason } from '../systems/container-provider.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

function version(cmd: string, args = ['--version']): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
      .split('\n')[0]
      ?.trim();
  } catch {
    return undefined;
  }
}

/** What this machine offers the suites; each missing item says how to get it. */
export async function doctor(root: string): Promise<Check[]> {
  const checks: Check[] = [];
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const nodeOk = (major === 20 && minor >= 19) || major >= 22;
  checks.push({
    name: 'Node.js',
    ok: nodeOk,
    detail: process.version,
    ...(nodeOk ? {} : { fix: 'install Node 20.19+ or 22.12+' }),
  });
  for (const [tool, fix] of [
    ['cc', 'apt-get install -y build-essential (needed to build the queue addon)'],
    ['make', 'apt-get install -y make'],
    ['python3', 'apt-get install -y python3 (node-gyp needs it)'],
  ] as const) {
    const v = version(tool);
    checks.push({ name: tool, ok: Boolean(v), detail: v ?? 'not found', ...(v ? {} : { fix }) });
  }
  const headers = [
    '/usr/include/node/node_api.h',
    path.join(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h'),
  ];
  const hasHeaders = headers.some((h) => existsSync(h));
  checks.push({
    name: 'Node headers',
    ok: hasHeaders,
    detail: hasHeaders ? 'found (node-gyp builds offline)' : 'not found locally',
    ...(hasHeaders ? {} : { fix: 'node-gyp will download headers; offline, install the nodejs dev headers' }),
  });
  const addon = path.join(root, 'systems', 'queue', 'native', 'build', 'Release');
  const addonBuilt = existsSync(addon) && readdirSync(addon).some((f) => f.endsWith('.node'));
  checks.push({
    name: 'queue addon',
    ok: addonBuilt,
    detail: addonBuilt ? 'built' : 'not built',
    ...(addonBuilt
      ? {}
      : { fix: 'npm ci (runs systems/queue/install.mjs), or node scripts/postinstall.mjs' }),
  });
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  checks.push({
    name: 'Chromium',
    ok: Boolean(chromium),
    detail: chromium ? (version(chromium) ?? chromium) : 'not found',
    ...(chromium ? {} : { fix: 'apt-get install -y chromium (browser suites and report checks)' }),
  });
  const docker = await dockerUnavailableReason();
  checks.push({
    name: 'Docker engine',
    ok: !docker,
    detail: docker ?? 'answers',
    ...(docker ? { fix: 'start a Docker engine; container-provider cases are skipped without one' } : {}),
  });
  const modelsDir = path.join(root, 'fixtures', 'models');
  const models = existsSync(modelsDir) ? readdirSync(modelsDir).filter((f) => f.endsWith('.gguf')) : [];
  const envModel = process.env.MODEL_PATH;
  checks.push({
    name: 'models',
    ok: models.length > 0 || Boolean(envModel && existsSync(envModel)),
    detail:
      [...models.map((m) => `fixtures/models/${m}`), ...(envModel ? [`MODEL_PATH=${envModel}`] : [])].join(
        ', ',
      ) || 'none',
    ...(models.length
      ? {}
      : { fix: 'generated on first use by the inference suites (tiny GGUF), or set MODEL_PATH' }),
  });
  const valgrind = version('valgrind');
  checks.push({
    name: 'valgrind',
    ok: Boolean(valgrind),
    detail: valgrind ?? 'not found',
    ...(valgrind
      ? {}
      : {
          fix: 'apt-get install -y valgrind (instruction-count figures; skipped with that reason without it)',
        }),
  });
  const aslr = version('setarch', ['-R', 'true']) !== undefined;
  checks.push({
    name: 'ASLR off',
    ok: aslr,
    detail: aslr ? '`setarch -R` works (counts do not drift)' : '`setarch -R true` fails',
    ...(aslr
      ? {}
      : { fix: 'install util-linux (setarch) and allow personality(ADDR_NO_RANDOMIZE) in the container' }),
  });
  const cores = os.availableParallelism();
  checks.push({
    name: 'cores',
    ok: true,
    detail: `${cores} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB memory`,
  });
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks
    .map(
      (c) =>
        `${c.ok ? 'ok     ' : 'missing'} ${c.name.padEnd(14)} ${c.detail}${c.fix ? `\n        -> ${c.fix}` : ''}`,
    )
    .join('\n');
}
