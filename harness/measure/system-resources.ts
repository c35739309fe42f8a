// The whole machine over a window, beside ResourceSampler's one process: SystemSampler samples CPU,
// memory, disk and GPU; recordSystemResources turns a window into `<prefix>.system.*` figures.
import { type ChildProcess, execFile } from 'node:child_process';
import { runContext } from '../run/context.ts';
import type { Figure } from './figure.ts';
import type { FigureMeta } from './helpers.ts';
import { recordFigure } from './record.ts';
import { summarize } from './stats.ts';
import {
  type CpuTimes,
  type DiskReading,
  diskUsagePct,
  type GpuReading,
  gpuFailure,
  type MemoryReading,
  NVIDIA_SMI_ARGS,
  osCpuTimes,
  osMemory,
  parseNvidiaSmiCsv,
  probeGpu,
  readDiskstats,
  readMeminfo,
  readProcStat,
  wholeDiskFilter,
} from './system-readings.ts';

/** One machine sample. samples[0] is at t = 0: no interval yet, so its CPU and disk rates are 0. */
export interface SystemSample {
  /** ms since start */
  t: number;
  /** Busy share of the whole machine over the last interval, % of all cores (0-100). */
  cpuPct: number;
  /** MemTotal - MemAvailable (Linux), totalmem - freemem elsewhere; MiB. */
  memoryUsedMiB: number;
  /** memoryUsedMiB / total, %. */
  memoryPct: number;
  /** Whole disks' reads over the last interval, bytes/s (Linux only). */
  diskReadBps?: number;
  /** Whole disks' writes over the last interval, bytes/s (Linux only). */
  diskWriteBps?: number;
  /** Use of the filesystem holding `diskPath`, % (as df shows it). */
  diskUsagePct?: number;
}

/** One nvidia-smi answer: utilisation averaged over the GPUs, memory summed over them. */
export interface GpuSample {
  /** ms since start, when the answer arrived */
  t: number;
  /** Mean utilization.gpu over the GPUs that report it, %; undefined when none does (MIG). */
  utilPct: number | undefined;
  /** memory.used summed over the GPUs, MiB. */
  memoryUsedMiB: number;
  gpus: GpuReading[];
}

/** GPU sampling is data, not an exception: either samples, or the reason there are none. */
export type GpuResult =
  | {
      state: 'sampled';
      command: string;
      count: number;
      memoryTotalMiB: number;
      intervalMs: number;
      samples: GpuSample[];
      /** nvidia-smi runs that failed or timed out after the probe succeeded, and the last reason. */
      failures: number;
      lastError?: string;
    }
  | { state: 'skipped'; reason: string };

export interface SystemResult {
  /** Where CPU, memory and disk I/O came from: Linux /proc, or os.cpus()/os.freemem(). */
  source: 'proc' | 'os';
  /** Logical cores the CPU figure covers. */
  cores: number;
  memoryTotalMiB: number;
  intervalMs: number;
  /** Whole disks whose I/O is summed (partitions and dm/md devices left out). */
  disks: string[];
  /** The path whose filesystem's usage is sampled. */
  diskPath: string | undefined;
  samples: SystemSample[];
  gpu: GpuResult;
  /** What was not measured and why, one line each (GPU included). */
  skipped: string[];
}

export interface SystemSamplerOptions {
  /** Interval between machine samples, ms. @default 250 */
  intervalMs?: number;
  /** Interval between GPU samples (each runs nvidia-smi once), ms. @default max(intervalMs, 1000) */
  gpuIntervalMs?: number;
  /** A path on the filesystem whose usage is sampled. @default the run's reports dir */
  diskPath?: string;
  /** The nvidia-smi to run, or false to sample no GPU. @default 'nvidia-smi' */
  nvidiaSmi?: string | false;
  /** 'auto': /proc on Linux, os.cpus()/os.freemem() elsewhere; 'os' forces the fallback. @default 'auto' */
  source?: 'auto' | 'proc' | 'os';
}

interface Reading {
  cpu: CpuTimes;
  memory: MemoryReading;
  disk: DiskReading | undefined;
}

/**
 * Samples the whole machine at a fixed interval: CPU % of all cores (/proc/stat), memory used
 * (/proc/meminfo), whole-disk read and write bytes/s (/proc/diskstats), the usage of the
 * filesystem holding the run's reports (statfs), and GPU utilisation and memory (nvidia-smi,
 * when it answers a probe run at start; otherwise the result says why not). Off Linux, CPU and
 * memory come from os.cpus()/os.freemem() and disk I/O is skipped, with that said in `skipped`.
 */
export class SystemSampler {
  private readonly intervalMs: number;
  private readonly gpuIntervalMs: number;
  private readonly diskPath: string | undefined;
  private readonly nvidiaSmi: string | false;
  private readonly source: 'proc' | 'os';
  private readonly skipped: string[] = [];
  private diskIo: boolean;
  private diskUsage = true;
  private readonly samples: SystemSample[] = [];
  private readonly gpuSamples: GpuSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private gpuTimer: NodeJS.Timeout | undefined;
  private gpuInFlight: ChildProcess | undefined;
  private gpu: GpuResult = { state: 'skipped', reason: 'the sampler was not started' };
  private gpuFailures = 0;
  private gpuLastError: string | undefined;
  private isWholeDisk: (name: string) => boolean = () => false;
  private startMs = 0;
  private last: (Reading & { t: number }) | undefined;
  private result: SystemResult | undefined;

  constructor(options: SystemSamplerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 250;
    this.gpuIntervalMs = options.gpuIntervalMs ?? Math.max(this.intervalMs, 1000);
    this.diskPath = options.diskPath ?? runContext().dir;
    this.nvidiaSmi = options.nvidiaSmi ?? 'nvidia-smi';
    const source = options.source ?? 'auto';
    this.source = source === 'auto' ? (process.platform === 'linux' ? 'proc' : 'os') : source;
    this.diskIo = this.source === 'proc';
    if (this.source === 'os') {
      this.skipped.push(
        `disk I/O: /proc/diskstats is Linux-only (${process.platform}); CPU and memory from os.cpus()/os.freemem(), where free memory excludes reclaimable cache`,
      );
    }
  }

  private read(): Reading {
    if (this.source === 'os') return { cpu: osCpuTimes(), memory: osMemory(), disk: undefined };
    let disk: DiskReading | undefined;
    if (this.diskIo) {
      try {
        disk = readDiskstats(this.isWholeDisk);
      } catch (error) {
        this.diskIo = false;
        this.skipped.push(`disk I/O: /proc/diskstats unreadable (${(error as Error).message})`);
      }
    }
    return { cpu: readProcStat(), memory: readMeminfo(), disk };
  }

  private usage(): number | undefined {
    if (this.diskPath === undefined || !this.diskUsage) return undefined;
    try {
      return diskUsagePct(this.diskPath);
    } catch (error) {
      // Once: a path that is gone stays gone, and the reason is said once.
      this.diskUsage = false;
      this.skipped.push(`disk usage: statfs(${this.diskPath}) failed (${(error as Error).message})`);
      return undefined;
    }
  }

  start(): this {
    if (this.source === 'proc') this.isWholeDisk = wholeDiskFilter();
    this.startMs = performance.now();
    const first = this.read();
    this.last = { ...first, t: 0 };
    const usage = this.usage();
    this.samples.push({
      t: 0,
      cpuPct: 0,
      memoryUsedMiB: first.memory.usedMiB,
      memoryPct: (100 * first.memory.usedMiB) / first.memory.totalMiB,
      ...(first.disk ? { diskReadBps: 0, diskWriteBps: 0 } : {}),
      ...(usage !== undefined ? { diskUsagePct: usage } : {}),
    });
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    this.startGpu();
    return this;
  }

  private sample(): void {
    const prev = this.last;
    if (!prev) return;
    const t = performance.now() - this.startMs;
    const now = this.read();
    const dTotal = now.cpu.total - prev.cpu.total;
    // No clock tick since the last sample (a stop right after one): nothing new to say.
    if (dTotal <= 0) return;
    const seconds = (t - prev.t) / 1000;
    const rate = (a: number, b: number) => (seconds > 0 ? Math.max(0, a - b) / seconds : 0);
    const usage = this.usage();
    this.samples.push({
      t,
      cpuPct: Math.min(100, Math.max(0, (100 * (now.cpu.busy - prev.cpu.busy)) / dTotal)),
      memoryUsedMiB: now.memory.usedMiB,
      memoryPct: (100 * now.memory.usedMiB) / now.memory.totalMiB,
      ...(now.disk && prev.disk
        ? {
            diskReadBps: rate(now.disk.readBytes, prev.disk.readBytes),
            diskWriteBps: rate(now.disk.writeBytes, prev.disk.writeBytes),
          }
        : {}),
      ...(usage !== undefined ? { diskUsagePct: usage } : {}),
    });
    this.last = { ...now, t };
  }

  private startGpu(): void {
    if (this.nvidiaSmi === false) {
      this.gpu = { state: 'skipped', reason: 'GPU sampling turned off by the caller' };
      return;
    }
    const probe = probeGpu(this.nvidiaSmi);
    if (!probe.ok) {
      this.gpu = { state: 'skipped', reason: probe.reason };
      return;
    }
    this.gpu = {
      state: 'sampled',
      command: this.nvidiaSmi,
      count: probe.gpus.length,
      memoryTotalMiB: probe.gpus.reduce((a, g) => a + (g.memoryTotalMiB ?? 0), 0),
      intervalMs: this.gpuIntervalMs,
      samples: this.gpuSamples,
      failures: 0,
    };
    this.sampleGpu();
    this.gpuTimer = setInterval(() => this.sampleGpu(), this.gpuIntervalMs);
    this.gpuTimer.unref();
  }

  /** One nvidia-smi run, unless the last one is still running (a slow driver skips a beat). */
  private sampleGpu(): void {
    if (this.gpuInFlight || this.nvidiaSmi === false) return;
    const command = this.nvidiaSmi;
    const timeout = Math.max(2 * this.gpuIntervalMs, 2_000);
    this.gpuInFlight = execFile(command, NVIDIA_SMI_ARGS, { encoding: 'utf8', timeout }, (error, stdout) => {
      this.gpuInFlight = undefined;
      if (this.result) return; // stopped meanwhile
      try {
        if (error) throw error;
        const gpus = parseNvidiaSmiCsv(stdout);
        const utils = gpus.flatMap((g) => (g.utilPct === undefined ? [] : [g.utilPct]));
        this.gpuSamples.push({
          t: performance.now() - this.startMs,
          utilPct: utils.length ? utils.reduce((a, b) => a + b, 0) / utils.length : undefined,
          memoryUsedMiB: gpus.reduce((a, g) => a + (g.memoryUsedMiB ?? 0), 0),
          gpus,
        });
      } catch (e) {
        this.gpuFailures++;
        this.gpuLastError = gpuFailure(command, Object.assign(e as Error, { stdout }), timeout);
      }
    });
  }

  /** Stops sampling (a last sample first) and returns everything; a second call returns the same. */
  stop(): SystemResult {
    if (this.result) return this.result;
    if (this.timer) clearInterval(this.timer);
    if (this.gpuTimer) clearInterval(this.gpuTimer);
    this.timer = undefined;
    this.gpuTimer = undefined;
    this.sample();
    // An nvidia-smi still running is not waited for, and not left behind.
    this.gpuInFlight?.kill('SIGKILL');
    const gpu: GpuResult =
      this.gpu.state === 'sampled'
        ? {
            ...this.gpu,
            samples: [...this.gpuSamples],
            failures: this.gpuFailures,
            ...(this.gpuLastError ? { lastError: this.gpuLastError } : {}),
          }
        : this.gpu;
    const cpu = this.last?.cpu;
    this.result = {
      source: this.source,
      cores: cpu?.cores ?? 0,
      memoryTotalMiB: this.last?.memory.totalMiB ?? 0,
      intervalMs: this.intervalMs,
      disks: this.last?.disk?.devices ?? [],
      diskPath: this.diskPath,
      samples: [...this.samples],
      gpu,
      skipped: [...this.skipped, ...(gpu.state === 'skipped' ? [`GPU: ${gpu.reason}`] : [])],
    };
    return this.result;
  }
}

/** Mean of per-interval rates weighted by interval length: bytes over the whole window / its length. */
function windowRate(samples: SystemSample[], pick: (s: SystemSample) => number | undefined): number {
  let bytes = 0;
  let ms = 0;
  for (let i = 1; i < samples.length; i++) {
    const v = pick(samples[i]!);
    if (v === undefined) continue;
    const dt = samples[i]!.t - samples[i - 1]!.t;
    bytes += v * dt;
    ms += dt;
  }
  return ms > 0 ? bytes / ms : 0;
}

/**
 * Records the whole machine over a SystemSampler's window: `${prefix}.system.cpu.mean` and
 * `.cpu.max` (% of all cores), `.memory.pct.max` (%), `.memory.used.max` and `.memory.used.growth`
 * (MiB, last - first), `.disk.read.rate` and `.disk.write.rate` (B/s over the whole window, whole
 * disks, Linux), `.disk.usage.pct` (%, the highest seen), and where a GPU was sampled
 * `.gpu.util.mean` (%, averaged over GPUs) and `.gpu.memory.max` (MiB, summed over GPUs). What was
 * not measured, and why, ends every figure's method ("not measured: GPU: nvidia-smi not found ...").
 */
export async function recordSystemResources(
  prefix: string,
  result: SystemResult,
  meta: FigureMeta,
): Promise<Figure[]> {
  const id = (rest: string) => `${prefix}.system.${rest}`;
  const s = result.samples;
  const intervals = s.slice(1);
  const proc = result.source === 'proc';
  const notMeasured = result.skipped.length ? `; not measured: ${result.skipped.join('; ')}` : '';
  const method = (how: string, n: number) =>
    `${meta.method} (whole machine, ${result.cores} cores, ${Math.round(result.memoryTotalMiB)} MiB memory; ` +
    `${n} samples every ${result.intervalMs} ms; ${how})${notMeasured}`;
  const base = {
    better: 'lower' as const,
    ...(meta.labels ? { labels: meta.labels } : {}),
    ...(meta.system ? { system: meta.system } : {}),
    ...(meta.valid === false ? { valid: false, invalidReason: meta.invalidReason ?? 'marked invalid' } : {}),
  };
  const figures: Figure[] = [];
  const record = async (
    rest: string,
    values: number[],
    // linear: a signed difference (growth), with no distribution of its own
    o: { value: number; unit: string; how: string; series?: Array<[number, number]>; linear?: boolean },
  ) => {
    if (values.length === 0) return;
    figures.push(
      await recordFigure({
        id: id(rest),
        value: o.value,
        unit: o.unit,
        n: values.length,
        ...(o.linear ? {} : { stats: { ...summarize(values), ciMethod: 'none' as const } }),
        ...(o.series ? { series: o.series } : {}),
        ...(o.linear ? { scale: 'linear' as const } : {}),
        method: method(o.how, values.length),
        ...base,
      }),
    );
  };

  const cpu = intervals.map((x) => x.cpuPct);
  const cpuHow = proc ? 'busy share of all cores from /proc/stat' : 'busy share of all cores from os.cpus()';
  const cpuSeries = intervals.map((x): [number, number] => [x.t, x.cpuPct]);
  await record('cpu.mean', cpu, { value: summarize(cpu).mean, unit: '%', how: cpuHow, series: cpuSeries });
  await record('cpu.max', cpu, { value: Math.max(...cpu), unit: '%', how: `${cpuHow}, highest interval` });

  const memHow = proc ? '/proc/meminfo MemTotal - MemAvailable' : 'os.totalmem() - os.freemem()';
  const memPct = s.map((x) => x.memoryPct);
  const used = s.map((x) => x.memoryUsedMiB);
  await record('memory.pct.max', memPct, {
    value: Math.max(...memPct),
    unit: '%',
    how: `${memHow}, of MemTotal, highest sample`,
    series: s.map((x) => [x.t, x.memoryPct]),
  });
  await record('memory.used.max', used, {
    value: Math.max(...used),
    unit: 'MiB',
    how: `${memHow}, highest sample`,
    series: s.map((x) => [x.t, x.memoryUsedMiB]),
  });
  await record('memory.used.growth', used, {
    value: (used.at(-1) ?? 0) - (used[0] ?? 0),
    unit: 'MiB',
    how: `${memHow}, last sample - first`,
    linear: true,
  });

  const disks = `/proc/diskstats, whole disks ${result.disks.join(', ') || '(none)'}`;
  for (const [dir, pick] of [
    ['read', (x: SystemSample) => x.diskReadBps],
    ['write', (x: SystemSample) => x.diskWriteBps],
  ] as const) {
    const rates = intervals.flatMap((x) => (pick(x) === undefined ? [] : [pick(x)!]));
    await record(`disk.${dir}.rate`, rates, {
      value: windowRate(s, pick),
      unit: 'B/s',
      how: `bytes ${dir} over the window / its length, ${disks}`,
      series: intervals.flatMap((x) => (pick(x) === undefined ? [] : [[x.t, pick(x)!] as [number, number]])),
    });
  }
  const usage = s.flatMap((x) => (x.diskUsagePct === undefined ? [] : [x.diskUsagePct]));
  await record('disk.usage.pct', usage, {
    value: Math.max(...usage),
    unit: '%',
    how: `statfs of the filesystem holding ${result.diskPath}, used / (used + available) as df shows it, highest sample`,
    series: s.flatMap((x) =>
      x.diskUsagePct === undefined ? [] : [[x.t, x.diskUsagePct] as [number, number]],
    ),
  });

  if (result.gpu.state === 'sampled') {
    const g = result.gpu;
    const gpuHow =
      `${g.command} every ${g.intervalMs} ms, ${g.count} GPU(s) with ${Math.round(g.memoryTotalMiB)} MiB` +
      (g.failures ? `, ${g.failures} runs failed (last: ${g.lastError})` : '');
    const withUtil = g.samples.flatMap((x) =>
      x.utilPct === undefined ? [] : [[x.t, x.utilPct] as [number, number]],
    );
    const util = withUtil.map(([, v]) => v);
    await record('gpu.util.mean', util, {
      value: summarize(util).mean,
      unit: '%',
      how: `utilization.gpu averaged over GPUs, from ${gpuHow}`,
      series: withUtil,
    });
    const mem = g.samples.map((x) => x.memoryUsedMiB);
    await record('gpu.memory.max', mem, {
      value: Math.max(...mem),
      unit: 'MiB',
      how: `memory.used summed over GPUs, highest sample, from ${gpuHow}`,
      series: g.samples.map((x) => [x.t, x.memoryUsedMiB]),
    });
  }
  return figures;
}
