import { readFileSync } from 'node:fs';
import type { Figure } from './figure.ts';
import type { FigureMeta } from './helpers.ts';
import { recordFigure } from './record.ts';
import { summarize } from './stats.ts';

export interface ResourceSample {
  /** ms since start */
  t: number;
  /** CPU use over the last interval, % of one core. */
  cpu: number;
  /** Resident set size, MiB. */
  rssMiB: number;
}

export interface ResourceResult {
  pid: number;
  samples: ResourceSample[];
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** CPU time and resident set size of a process from /proc (Linux); undefined when it is gone. */
export function readProc(pid: number): { cpuMs: number; rssMiB: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssMiB: rssKb / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * Samples CPU% and RSS of this process (default) or of a child pid at a fixed interval,
 * from /proc on Linux and from process.cpuUsage()/memoryUsage() for this process elsewhere.
 */
export class ResourceSampler {
  readonly pid: number;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly samples: ResourceSample[] = [];
  private startMs = 0;
  private lastCpuMs = 0;
  private lastT = 0;

  constructor(options: { pid?: number; intervalMs?: number } = {}) {
    this.pid = options.pid ?? process.pid;
    this.intervalMs = options.intervalMs ?? 100;
  }

  private read(): { cpuMs: number; rssMiB: number } | undefined {
    if (this.pid === process.pid) {
      const cpu = process.cpuUsage();
      return { cpuMs: (cpu.user + cpu.system) / 1000, rssMiB: process.memoryUsage.rss() / 1024 / 1024 };
    }
    return readProc(this.pid);
  }

  start(): this {
    this.startMs = performance.now();
    const first = this.read();
    this.lastCpuMs = first?.cpuMs ?? 0;
    this.lastT = 0;
    if (first) this.samples.push({ t: 0, cpu: 0, rssMiB: first.rssMiB });
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  private sample(): void {
    const now = performance.now() - this.startMs;
    const reading = this.read();
    if (!reading) return;
    const dt = now - this.lastT;
    const cpu = dt > 0 ? (100 * (reading.cpuMs - this.lastCpuMs)) / dt : 0;
    this.samples.push({ t: now, cpu: Math.max(0, cpu), rssMiB: reading.rssMiB });
    this.lastCpuMs = reading.cpuMs;
    this.lastT = now;
  }

  stop(): ResourceResult {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { pid: this.pid, samples: [...this.samples] };
  }
}

/** `${prefix}.cpu.mean` (%), `${prefix}.rss.max` (MiB), `${prefix}.rss.growth` (MiB, last - first). */
export async function recordResources(
  prefix: string,
  result: ResourceResult,
  meta: FigureMeta,
): Promise<Figure[]> {
  const cpu = result.samples.slice(1).map((s) => s.cpu);
  const rss = result.samples.map((s) => s.rssMiB);
  const method = `${meta.method} (pid ${result.pid === process.pid ? 'self' : result.pid}, ${result.samples.length} samples from /proc)`;
  const base = { method, ...(meta.labels ? { labels: meta.labels } : {}) };
  const figures: Figure[] = [];
  if (cpu.length > 0) {
    const stats = summarize(cpu);
    figures.push(
      await recordFigure({
        id: `${prefix}.cpu.mean`,
        value: stats.mean,
        unit: '%',
        better: 'lower',
        n: cpu.length,
        stats: { ...stats, ciMethod: 'none' },
        series: result.samples.slice(1).map((s) => [s.t, s.cpu]),
        ...base,
      }),
    );
  }
  if (rss.length > 0) {
    const stats = summarize(rss);
    figures.push(
      await recordFigure({
        id: `${prefix}.rss.max`,
        value: stats.max,
        unit: 'MiB',
        better: 'lower',
        n: rss.length,
        series: result.samples.map((s) => [s.t, s.rssMiB]),
        ...base,
      }),
    );
    figures.push(
      await recordFigure({
        id: `${prefix}.rss.growth`,
        value: rss[rss.length - 1]! - rss[0]!,
        unit: 'MiB',
        better: 'lower',
        n: rss.length,
        ...base,
      }),
    );
  }
  return figures;
}
