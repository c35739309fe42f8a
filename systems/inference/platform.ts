// Platform detection and the engine choice of the original plan: Apple Silicon prefers MLX,
// Linux/Windows with CUDA prefer vLLM, llama.cpp is the fallback everywhere.
import os from 'node:os';
import { getLlamaGpuTypes } from 'node-llama-cpp';

export type OsName = 'linux' | 'darwin' | 'windows' | 'other';
export type GpuKind = 'cuda' | 'metal' | 'vulkan' | false;
export type BestEngine = 'vllm' | 'mlx' | 'llama_cpp';

export interface PlatformInfo {
  system: OsName;
  /** `os.machine()`: x86_64, arm64, aarch64, ... */
  machine: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  /** The best GPU backend node-llama-cpp can use here, false when none. */
  gpu: GpuKind;
  /** Every GPU backend node-llama-cpp reports as supported here. */
  gpuTypes: GpuKind[];
  node: string;
}

export interface EngineChoice {
  engine: BestEngine;
  reason: string;
}

function osName(p: NodeJS.Platform): OsName {
  if (p === 'linux' || p === 'darwin') return p;
  if (p === 'win32') return 'windows';
  return 'other';
}

const GPU_PREFERENCE: GpuKind[] = ['cuda', 'metal', 'vulkan'];

/**
 * The GPU backend to use among those node-llama-cpp supports on a machine: CUDA, else Metal (Apple
 * Silicon), else Vulkan, else none (false: the CPU). Pure, so tests can feed any machine's list.
 */
export function preferredGpu(gpuTypes: readonly GpuKind[]): GpuKind {
  return GPU_PREFERENCE.find((g) => gpuTypes.includes(g)) ?? false;
}

/** Reads the machine; the GPU kind is what node-llama-cpp's binaries support here. */
export async function getPlatformInfo(): Promise<PlatformInfo> {
  let gpuTypes: GpuKind[] = [];
  try {
    gpuTypes = (await getLlamaGpuTypes('supported')) as GpuKind[];
  } catch {
    gpuTypes = [false];
  }
  const gpu = preferredGpu(gpuTypes);
  return {
    system: osName(process.platform),
    machine: os.machine(),
    arch: process.arch,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    totalMemoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    gpu,
    gpuTypes,
    node: process.version,
  };
}

/** The plan's rules applied to a platform; pure, so tests can feed any machine. */
export function chooseEngine(
  platform: Pick<PlatformInfo, 'system' | 'arch' | 'gpu'>,
  force?: BestEngine,
): EngineChoice {
  if (force) return { engine: force, reason: `forced to ${force}` };
  if (platform.system === 'darwin' && platform.arch === 'arm64') {
    return { engine: 'mlx', reason: 'Apple Silicon (darwin/arm64): MLX is preferred' };
  }
  if ((platform.system === 'linux' || platform.system === 'windows') && platform.gpu === 'cuda') {
    return { engine: 'vllm', reason: `${platform.system} with a CUDA GPU: vLLM is preferred` };
  }
  const gpu = platform.gpu ? `GPU ${platform.gpu}` : 'no GPU';
  return {
    engine: 'llama_cpp',
    reason: `${platform.system}/${platform.arch} with ${gpu}: llama.cpp is the fallback`,
  };
}

/** Detects the machine and applies the rules; `force` overrides. */
export async function detectBestEngine(
  opts: { force?: BestEngine; platform?: PlatformInfo } = {},
): Promise<EngineChoice & { platform: PlatformInfo }> {
  const platform = opts.platform ?? (await getPlatformInfo());
  return { ...chooseEngine(platform, opts.force), platform };
}
