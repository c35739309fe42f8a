import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeGpu } from '../measure/system-readings.ts';
import { chromiumExecutable, chromiumUnavailableReason } from '../run/chromium.ts';
import { dockerUnavailableReason } from '../systems/providers/container.ts';
import { listSystems, loadSystem } from '../systems/registry.ts';
import type { DoctorCheck } from '../systems/types.ts';

/** One line of `rig doctor`; `system` names the system whose `doctor()` reported it. */
export interface Check extends DoctorCheck {
  system?: string;
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

/**
 * Every system's own checks (`doctor()` in its system.ts); a system that cannot be loaded, or
 * whose doctor throws, is a failed check, not a crashed command.
 */
export async function systemChecks(root: string): Promise<Check[]> {
  const checks: Check[] = [];
  for (const name of listSystems(root)) {
    try {
      const definition = await loadSystem(name, root);
      for (const check of (await definition.doctor?.()) ?? []) checks.push({ ...check, system: name });
    } catch (error) {
      checks.push({
        name: 'system',
        ok: false,
        detail: (error as Error).message.split('\n')[0] ?? String(error),
        hint: `fix systems/${name}/system.ts (its doctor() or what it imports)`,
        system: name,
      });
    }
  }
  return checks;
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
    ...(nodeOk ? {} : { hint: 'install Node 20.19+ or 22.12+' }),
  });
  for (const [tool, fix] of [
    ['cc', 'apt-get install -y build-essential (needed to build the queue addon)'],
    ['make', 'apt-get install -y make'],
    ['python3', 'apt-get install -y python3 (node-gyp needs it)'],
  ] as const) {
    const v = version(tool);
    checks.push({ name: tool, ok: Boolean(v), detail: v ?? 'not found', ...(v ? {} : { hint: fix }) });
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
    ...(hasHeaders
      ? {}
      : { hint: 'node-gyp will download headers; offline, install the nodejs dev headers' }),
  });
  const chromium = chromiumExecutable();
  checks.push({
    name: 'Chromium',
    ok: Boolean(chromium),
    detail: chromium ? (version(chromium) ?? chromium) : (chromiumUnavailableReason() ?? 'not found'),
    ...(chromium ? {} : { hint: 'apt-get install -y chromium (browser suites under @playwright/test)' }),
  });
  const docker = await dockerUnavailableReason();
  checks.push({
    name: 'Docker engine',
    ok: !docker,
    detail: docker ?? 'answers',
    ...(docker ? { hint: 'start a Docker engine; container-provider cases are skipped without one' } : {}),
  });
  const valgrind = version('valgrind');
  checks.push({
    name: 'valgrind',
    ok: Boolean(valgrind),
    detail: valgrind ?? 'not found',
    ...(valgrind
      ? {}
      : {
          hint: 'apt-get install -y valgrind (instruction-count figures; skipped with that reason without it)',
        }),
  });
  const aslr = version('setarch', ['-R', 'true']) !== undefined;
  checks.push({
    name: 'ASLR off',
    ok: aslr,
    detail: aslr ? '`setarch -R` works (counts do not drift)' : '`setarch -R true` fails',
    ...(aslr
      ? {}
      : { hint: 'install util-linux (setarch) and allow personality(ADDR_NO_RANDOMIZE) in the container' }),
  });
  const cores = os.availableParallelism();
  checks.push({
    name: 'cores',
    ok: true,
    detail: `${cores} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB memory`,
  });
  const gpu = probeGpu();
  const gpuMiB = gpu.ok ? gpu.gpus.reduce((a, g) => a + (g.memoryTotalMiB ?? 0), 0) : 0;
  checks.push({
    name: 'GPU / machine',
    ok: gpu.ok,
    detail: gpu.ok ? `nvidia-smi answers: ${gpu.gpus.length} GPU(s), ${gpuMiB} MiB` : gpu.reason,
    ...(gpu.ok
      ? {}
      : {
          hint: 'nothing to do on a CPU machine: system figures (SystemSampler) skip the GPU with this reason',
        }),
  });
  checks.push(...(await systemChecks(root)));
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => {
      const name = c.system ? `${c.system} ${c.name}` : c.name;
      return `${c.ok ? 'ok     ' : 'missing'} ${name.padEnd(16)} ${c.detail}${c.hint ? `\n        -> ${c.hint}` : ''}`;
    })
    .join('\n');
}
