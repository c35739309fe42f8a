// Whole-machine counters: pure parsers of /proc/stat, /proc/meminfo, /proc/diskstats and of
// nvidia-smi's CSV, and the readers that feed them (Linux /proc, or os.cpus()/os.freemem()
// elsewhere). SystemSampler (system-resources.ts) turns successive readings into rates.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';

/** Cumulative CPU time of the whole machine, in clock ticks (any unit: only ratios are used). */
export interface CpuTimes {
  busy: number;
  total: number;
  /** Logical cores the counters cover. */
  cores: number;
}

/**
 * The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal (guest
 * and guest_nice are already inside user and nice, so they are not added again). Idle and iowait
 * are not busy. `cores` counts the `cpuN` lines.
 */
export function parseProcStat(text: string): CpuTimes {
  const line = /^cpu\s+([\d\s]+)$/m.exec(text);
  if (!line) throw new Error('/proc/stat has no aggregate "cpu" line');
  const f = line[1]!.trim().split(/\s+/).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const cores = text.match(/^cpu\d+\s/gm)?.length ?? 0;
  return { busy: total - idle, total, cores };
}

export interface MemoryReading {
  totalMiB: number;
  /** MemTotal - MemAvailable: what programs hold, page cache that can be dropped excluded. */
  usedMiB: number;
}

/** MemTotal - MemAvailable from /proc/meminfo (kB); before Linux 3.14, MemFree + Buffers + Cached. */
export function parseMeminfo(text: string): MemoryReading {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const total = kb('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal');
  const available = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0);
  return { totalMiB: total / 1024, usedMiB: (total - available) / 1024 };
}

/** Block devices that are not a disk (loop, RAM, zram swap, optical) or sit on one (dm, md). */
const NOT_A_DISK = /^(loop|ram|zram|dm-|md|sr|fd|nbd)\d/;
/** Partition names: sda1, vdb2, xvda1, hda3, nvme0n1p1, mmcblk0p2. */
const PARTITION = /^((sd|vd|xvd|hd)[a-z]+\d+|(nvme\d+n\d+|mmcblk\d+)p\d+)$/;

/** Whether a /proc/diskstats name is a whole physical disk, judged by its name alone. */
export function isWholeDiskName(name: string): boolean {
  return !NOT_A_DISK.test(name) && !PARTITION.test(name);
}

export interface DiskReading {
  /** The devices summed. */
  devices: string[];
  readBytes: number;
  writeBytes: number;
}

/**
 * Bytes read and written since boot by whole disks only: a partition's I/O is already in its
 * disk's line, and dm/md devices' in the disks below them. /proc/diskstats counts 512-byte
 * sectors whatever the device's sector size (fields: major minor name reads merged sectors ms
 * writes merged sectors ...).
 */
export function parseDiskstats(
  text: string,
  isWholeDisk: (name: string) => boolean = isWholeDiskName,
): DiskReading {
  const reading: DiskReading = { devices: [], readBytes: 0, writeBytes: 0 };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const name = f[2];
    if (f.length < 10 || !name || !isWholeDisk(name)) continue;
    reading.devices.push(name);
    reading.readBytes += Number(f[5]) * 512;
    reading.writeBytes += Number(f[9]) * 512;
  }
  return reading;
}

/** The whole disks /sys/block lists (it holds no partitions), less the virtual ones; else by name. */
export function wholeDiskFilter(): (name: string) => boolean {
  try {
    const disks = new Set(readdirSync('/sys/block').filter((d) => !NOT_A_DISK.test(d)));
    return (name) => disks.has(name);
  } catch {
    return isWholeDiskName;
  }
}

/** Percent of a filesystem in use, as df counts it: used / (used + available to unprivileged users). */
export function diskUsagePct(path: string): number {
  const s = statfsSync(path);
  const used = s.blocks - s.bfree;
  return used + s.bavail > 0 ? (100 * used) / (used + s.bavail) : 0;
}

/** Machine CPU times from os.cpus(), for platforms without /proc (ms instead of ticks). */
export function osCpuTimes(): CpuTimes {
  const cpus = os.cpus();
  let busy = 0;
  let total = 0;
  for (const { times: t } of cpus) {
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total, cores: cpus.length };
}

/** Machine memory from os.totalmem()/os.freemem(); free memory there excludes reclaimable cache. */
export function osMemory(): MemoryReading {
  const total = os.totalmem() / 1024 ** 2;
  return { totalMiB: total, usedMiB: total - os.freemem() / 1024 ** 2 };
}

export function readProcStat(): CpuTimes {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'));
}

export function readMeminfo(): MemoryReading {
  return parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
}

export function readDiskstats(isWholeDisk: (name: string) => boolean): DiskReading {
  return parseDiskstats(readFileSync('/proc/diskstats', 'utf8'), isWholeDisk);
}

/** One GPU in one nvidia-smi answer; a field nvidia-smi reports as [N/A] is undefined. */
export interface GpuReading {
  utilPct: number | undefined;
  memoryUsedMiB: number | undefined;
  memoryTotalMiB: number | undefined;
}

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=utilization.gpu,memory.used,memory.total',
  '--format=csv,noheader,nounits',
] as const;

/**
 * nvidia-smi's `utilization.gpu, memory.used, memory.total` (csv, noheader, nounits): one line per
 * GPU such as `37, 1024, 81559`. `[N/A]` or `[Not Supported]` (a MIG instance's utilisation) is
 * undefined; a line that is not three fields (an error printed on stdout) throws with that line.
 */
export function parseNvidiaSmiCsv(text: string): GpuReading[] {
  const field = (s: string) => {
    const v = s.trim();
    return /^\[.*\]$/.test(v) ? undefined : Number(v);
  };
  const gpus: GpuReading[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(',').map(field);
    if (f.length !== 3 || f.some((v) => v !== undefined && !Number.isFinite(v))) {
      throw new Error(`unexpected nvidia-smi output: ${line.trim().slice(0, 200)}`);
    }
    gpus.push({ utilPct: f[0], memoryUsedMiB: f[1], memoryTotalMiB: f[2] });
  }
  if (gpus.length === 0) throw new Error('nvidia-smi listed no GPU');
  return gpus;
}

export type GpuProbe = { ok: true; gpus: GpuReading[] } | { ok: false; reason: string };

/** How long the one probing run of nvidia-smi may take (a driver without persistence mode is slow). */
export const GPU_PROBE_TIMEOUT_MS = 10_000;

const probes = new Map<string, GpuProbe>();

/**
 * Runs `command` (nvidia-smi) once with the query SystemSampler uses, and says whether GPU
 * sampling works and, if not, why. The answer is kept for the life of the process.
 */
export function probeGpu(command = 'nvidia-smi'): GpuProbe {
  const cached = probes.get(command);
  if (cached) return cached;
  let probe: GpuProbe;
  try {
    const out = execFileSync(command, NVIDIA_SMI_ARGS, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: GPU_PROBE_TIMEOUT_MS,
    });
    probe = { ok: true, gpus: parseNvidiaSmiCsv(out) };
  } catch (error) {
    probe = { ok: false, reason: gpuFailure(command, error, GPU_PROBE_TIMEOUT_MS) };
  }
  probes.set(command, probe);
  return probe;
}

/** One line on why running nvidia-smi failed: absent, timed out, or its own first words. */
export function gpuFailure(command: string, error: unknown, timeoutMs: number): string {
  const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string; status?: number | null };
  if (e.code === 'ENOENT') return `${command} not found (no NVIDIA driver on this machine)`;
  if (e.code === 'ETIMEDOUT' || (e as { killed?: boolean }).killed) {
    return `${command} did not answer within ${timeoutMs} ms`;
  }
  const said = `${e.stdout ?? ''}\n${e.stderr ?? ''}`.trim().split('\n')[0]?.trim();
  const status = typeof e.status === 'number' ? ` (exit ${e.status})` : '';
  return `${command} failed${status}: ${said || e.message.split('\n')[0]}`;
}

/** Why GPU figures are skipped on this machine, or undefined when nvidia-smi answers. */
export function gpuUnavailableReason(command = 'nvidia-smi'): string | undefined {
  const probe = probeGpu(command);
  return probe.ok ? undefined : probe.reason;
}
