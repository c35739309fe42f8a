import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import osModule from 'node:os';
import path from 'node:path';
import { instructionsUnavailableReason } from '../measure/instructions.ts';
import { type GpuProbe, probeGpu } from '../measure/system-readings.ts';
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

/** What `rig doctor` looks at on this machine; `machineChecks` turns it into lines (tests pass any OS). */
export interface MachineFacts {
  platform: NodeJS.Platform;
  /** `process.version`, e.g. v20.20.2. */
  node: string;
  /** First line of each tool's version output; absent when it does not run (or is not asked here). */
  tools: { cc?: string; make?: string; python3?: string; valgrind?: string };
  /** Node's C headers are there (node-gyp builds the queue's addon offline). */
  nodeHeaders: boolean;
  /** `setarch -R true` works (Linux). */
  aslrOff: boolean;
  /** The browser that browser suites launch, or why there is none. */
  chromium: { path: string; version?: string } | { reason: string };
  /** Why no Docker engine answers; absent when one does. */
  docker?: string;
  cores: number;
  memoryBytes: number;
  gpu: GpuProbe;
}

type Os = 'linux' | 'darwin' | 'win32';
const osOf = (platform: NodeJS.Platform): Os =>
  platform === 'darwin' || platform === 'win32' ? platform : 'linux';

const HINTS = {
  toolchain: {
    cc: 'apt-get install -y build-essential (needed to build the queue addon)',
    make: 'apt-get install -y make',
    python3: 'apt-get install -y python3 (node-gyp needs it)',
  },
  chromium: {
    linux: 'apt-get install -y chromium (browser suites under @playwright/test)',
    darwin: 'install Google Chrome, or set RIG_CHROMIUM (browser suites under @playwright/test)',
    win32:
      'install Google Chrome, or set RIG_CHROMIUM to a chrome.exe (browser suites under @playwright/test)',
  },
  docker: {
    linux: 'start a Docker engine; container-provider cases are skipped without one',
    darwin:
      'start Docker Desktop (or another engine testcontainers finds); container-provider cases are skipped without one',
    win32: 'start Docker Desktop with Linux containers; container-provider cases are skipped without one',
  },
  gpu: {
    linux: 'nothing to do on a CPU machine: system figures (SystemSampler) skip the GPU with this reason',
    darwin:
      'nothing to do: macOS has no nvidia-smi, so system figures (SystemSampler) skip the GPU; node-llama-cpp uses Metal on Apple Silicon',
    win32: 'nothing to do on a CPU machine: system figures (SystemSampler) skip the GPU with this reason',
  },
} as const;

const line = (name: string, ok: boolean, detail: string, hint?: string): Check =>
  ok || !hint ? { name, ok, detail } : { name, ok, detail, hint };

/**
 * The machine's lines of `rig doctor`, decided from `facts` alone: what each OS offers and lacks.
 * Linux: the queue's build toolchain and headers, valgrind and `setarch -R` for instruction counts.
 * macOS and Windows: no native build (the queue is Linux only; its own line says why), one line
 * saying instruction counts are skipped, Chrome as the browser, Docker Desktop as the engine.
 */
export function machineChecks(facts: MachineFacts): Check[] {
  const os = osOf(facts.platform);
  const checks: Check[] = [];
  const [major = 0, minor = 0] = facts.node.replace(/^v/, '').split('.').map(Number);
  const nodeOk = (major === 20 && minor >= 19) || major >= 22;
  checks.push(line('Node.js', nodeOk, facts.node, 'install Node 20.19+ or 22.12+'));
  if (os === 'linux') {
    for (const tool of ['cc', 'make', 'python3'] as const) {
      const v = facts.tools[tool];
      checks.push(line(tool, Boolean(v), v ?? 'not found', HINTS.toolchain[tool]));
    }
    checks.push(
      line(
        'Node headers',
        facts.nodeHeaders,
        facts.nodeHeaders ? 'found (node-gyp builds offline)' : 'not found locally',
        'node-gyp will download headers; offline, install the nodejs dev headers',
      ),
    );
  } else {
    checks.push(
      line(
        'C toolchain',
        true,
        `not needed on ${facts.platform}: the queue's addon, rig's one native build, is built on Linux only; the other native dependencies install prebuilt binaries`,
      ),
    );
  }
  const chromium = facts.chromium;
  checks.push(
    'path' in chromium
      ? line('Chromium', true, chromium.version ?? chromium.path)
      : line('Chromium', false, chromium.reason, HINTS.chromium[os]),
  );
  checks.push(line('Docker engine', !facts.docker, facts.docker ?? 'answers', HINTS.docker[os]));
  const instructions = instructionsUnavailableReason({
    platform: facts.platform,
    valgrindVersion: () => facts.tools.valgrind,
    aslrOff: () => facts.aslrOff,
  });
  if (os === 'linux') {
    const valgrind = facts.tools.valgrind;
    checks.push(
      line(
        'valgrind',
        Boolean(valgrind),
        valgrind ?? 'not found',
        'apt-get install -y valgrind (instruction-count figures; skipped with that reason without it)',
      ),
    );
    checks.push(
      line(
        'ASLR off',
        facts.aslrOff,
        facts.aslrOff ? '`setarch -R` works (counts do not drift)' : '`setarch -R true` fails',
        'install util-linux (setarch) and allow personality(ADDR_NO_RANDOMIZE) in the container',
      ),
    );
  } else {
    checks.push(
      line(
        'valgrind',
        false,
        instructions ?? `not available on ${facts.platform}`,
        'instruction-count suites are skipped with this reason; count on Linux (the nightly ubuntu jobs)',
      ),
    );
  }
  checks.push(
    line('cores', true, `${facts.cores} cores, ${Math.round(facts.memoryBytes / 1024 ** 3)} GiB memory`),
  );
  const gpu = facts.gpu;
  const gpuMiB = gpu.ok ? gpu.gpus.reduce((a, g) => a + (g.memoryTotalMiB ?? 0), 0) : 0;
  checks.push(
    line(
      'GPU / machine',
      gpu.ok,
      gpu.ok ? `nvidia-smi answers: ${gpu.gpus.length} GPU(s), ${gpuMiB} MiB` : gpu.reason,
      HINTS.gpu[os],
    ),
  );
  return checks;
}

/** Reads this machine: only what the checks of its OS need (no toolchain or valgrind probe on Windows). */
export async function machineFacts(platform: NodeJS.Platform = process.platform): Promise<MachineFacts> {
  const os = osOf(platform);
  const tools: MachineFacts['tools'] = {};
  if (os === 'linux') {
    for (const tool of ['cc', 'make', 'python3', 'valgrind'] as const) {
      const v = version(tool);
      if (v) tools[tool] = v;
    }
  }
  const headers = [
    '/usr/include/node/node_api.h',
    path.join(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h'),
  ];
  const executable = chromiumExecutable();
  // chrome.exe --version opens a browser window on Windows instead of printing: the path says enough
  const chromiumVersion = executable && os !== 'win32' ? version(executable) : undefined;
  const docker = await dockerUnavailableReason();
  return {
    platform,
    node: process.version,
    tools,
    nodeHeaders: headers.some((h) => existsSync(h)),
    aslrOff: os === 'linux' && version('setarch', ['-R', 'true']) !== undefined,
    chromium: executable
      ? { path: executable, ...(chromiumVersion ? { version: chromiumVersion } : {}) }
      : { reason: chromiumUnavailableReason() ?? 'not found' },
    ...(docker ? { docker } : {}),
    cores: osModule.availableParallelism(),
    memoryBytes: osModule.totalmem(),
    gpu: probeGpu(),
  };
}

/** What this machine offers the suites, then each system's own checks; each missing item says how to get it. */
export async function doctor(root: string): Promise<Check[]> {
  return [...machineChecks(await machineFacts()), ...(await systemChecks(root))];
}

export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => {
      const name = c.system ? `${c.system} ${c.name}` : c.name;
      return `${c.ok ? 'ok     ' : 'missing'} ${name.padEnd(16)} ${c.detail}${c.hint ? `\n        -> ${c.hint}` : ''}`;
    })
    .join('\n');
}
