import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runContext } from '../run/context.ts';
import {
  isWholeDiskName,
  parseDiskstats,
  parseMeminfo,
  parseNvidiaSmiCsv,
  parseProcStat,
  probeGpu,
} from './system-readings.ts';
import { recordSystemResources, type SystemResult, SystemSampler } from './system-resources.ts';

// Figures of these tests go to a throwaway run, not the run that is testing the harness.
const runDir = mkdtempSync(path.join(os.tmpdir(), 'rig-system-resources-'));
process.env.RIG_RUN_DIR = runDir;
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

const linux = process.platform === 'linux';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An executable shell script in the run dir standing in for nvidia-smi. */
function fakeNvidiaSmi(name: string, body: string): string {
  const file = path.join(runDir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('parsing whole-machine counters', () => {
  it('reads busy and total ticks and the core count from /proc/stat', () => {
    const stat = [
      'cpu  100 5 50 800 20 1 4 3 7 0',
      'cpu0 50 2 25 400 10 1 2 1 7 0',
      'cpu1 50 3 25 400 10 0 2 2 0 0',
      'intr 375 0 0',
      'ctxt 1363',
    ].join('\n');
    // user+nice+system+irq+softirq+steal busy; idle+iowait not; guest already inside user
    expect(parseProcStat(stat)).toEqual({ busy: 163, total: 983, cores: 2 });
    expect(() => parseProcStat('intr 1 2 3')).toThrow(/no aggregate "cpu" line/);
  });

  it('counts memory used as MemTotal - MemAvailable, or MemFree + Buffers + Cached on old kernels', () => {
    const info = 'MemTotal:       24683620 kB\nMemFree:        22476620 kB\nMemAvailable:   23635812 kB\n';
    const m = parseMeminfo(info);
    expect(m.totalMiB).toBeCloseTo(24683620 / 1024, 6);
    expect(m.usedMiB).toBeCloseTo((24683620 - 23635812) / 1024, 6);
    const old = parseMeminfo('MemTotal: 4096 kB\nMemFree: 1024 kB\nBuffers: 512 kB\nCached: 512 kB\n');
    expect(old).toEqual({ totalMiB: 4, usedMiB: 2 });
    expect(() => parseMeminfo('Cached: 1 kB')).toThrow(/MemTotal/);
  });

  it('sums whole disks from /proc/diskstats in 512-byte sectors, never partitions or stacked devices', () => {
    const line = (name: string, sectorsRead: number, sectorsWritten: number) =>
      `   8       0 ${name} 10 0 ${sectorsRead} 5 20 0 ${sectorsWritten} 9 0 12 14 0 0 0 0`;
    const text = [
      line('loop0', 999, 999),
      line('vda', 100, 200),
      line('vda1', 90, 190),
      line('sda', 10, 20),
      line('sda2', 10, 20),
      line('nvme0n1', 1, 2),
      line('nvme0n1p1', 1, 2),
      line('mmcblk0', 4, 4),
      line('mmcblk0p1', 4, 4),
      line('dm-0', 500, 500),
      line('md127', 500, 500),
      line('zram0', 500, 500),
      '',
    ].join('\n');
    const r = parseDiskstats(text);
    expect(r.devices).toEqual(['vda', 'sda', 'nvme0n1', 'mmcblk0']);
    expect(r.readBytes).toBe((100 + 10 + 1 + 4) * 512);
    expect(r.writeBytes).toBe((200 + 20 + 2 + 4) * 512);
    // The live reader's filter comes from /sys/block; any predicate may decide.
    expect(parseDiskstats(text, (n) => n === 'dm-0').readBytes).toBe(500 * 512);
    expect(['xvda', 'hdb', 'nvme1n2'].every(isWholeDiskName)).toBe(true);
    expect(['xvda1', 'hdb3', 'nvme1n2p3', 'sr0', 'ram0', 'nbd1'].some(isWholeDiskName)).toBe(false);
  });

  it("reads nvidia-smi's csv per GPU, [N/A] as unknown, and refuses anything else", () => {
    expect(parseNvidiaSmiCsv('37, 1024, 81559\n0, 3, 81559\n')).toEqual([
      { utilPct: 37, memoryUsedMiB: 1024, memoryTotalMiB: 81559 },
      { utilPct: 0, memoryUsedMiB: 3, memoryTotalMiB: 81559 },
    ]);
    // A MIG instance reports no utilisation of its own.
    expect(parseNvidiaSmiCsv('[N/A], 512, 40192')).toEqual([
      { utilPct: undefined, memoryUsedMiB: 512, memoryTotalMiB: 40192 },
    ]);
    expect(() =>
      parseNvidiaSmiCsv(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
      ),
    ).toThrow(/unexpected nvidia-smi output: NVIDIA-SMI has failed/);
    expect(() => parseNvidiaSmiCsv('\n')).toThrow(/no GPU/);
  });
});

describe.runIf(linux)('SystemSampler on /proc', () => {
  it('sees a busy child in the machine CPU, and records the figures with why the GPU was skipped', async () => {
    const sampler = new SystemSampler({ intervalMs: 50, nvidiaSmi: path.join(runDir, 'no-such-nvidia-smi') });
    sampler.start();
    // The child spins one core for 600 ms and says how much CPU it used (µs).
    const { stdout } = await promisify(execFile)(process.execPath, [
      '-e',
      'const t=Date.now();while(Date.now()-t<600);const u=process.cpuUsage();console.log(u.user+u.system)',
    ]);
    const r = sampler.stop();
    expect(sampler.stop()).toBe(r); // safe to call twice
    const childCpuMs = Number(stdout.trim()) / 1000;
    expect(childCpuMs).toBeGreaterThan(300);
    expect(r.source).toBe('proc');
    expect(r.cores).toBe(os.cpus().length);
    expect(r.samples.length).toBeGreaterThanOrEqual(8);
    // CPU time of the whole machine over the window (busy % x interval x cores) holds the child's.
    let machineBusyMs = 0;
    for (let i = 1; i < r.samples.length; i++) {
      const dt = r.samples[i]!.t - r.samples[i - 1]!.t;
      machineBusyMs += (r.samples[i]!.cpuPct / 100) * dt * r.cores;
    }
    expect(machineBusyMs).toBeGreaterThan(0.8 * childCpuMs);
    expect(Math.max(...r.samples.map((s) => s.cpuPct))).toBeGreaterThan(100 / r.cores / 2);
    for (const s of r.samples) {
      expect(s.memoryUsedMiB).toBeGreaterThan(0);
      expect(s.memoryPct).toBeGreaterThan(0);
      expect(s.memoryPct).toBeLessThanOrEqual(100);
      expect(s.diskUsagePct).toBeGreaterThan(0);
      expect(s.diskReadBps).toBeGreaterThanOrEqual(0);
    }
    expect(r.diskPath).toBe(runContext().dir);
    expect(r.disks.every((d) => isWholeDiskName(d))).toBe(true);
    expect(r.gpu).toEqual({ state: 'skipped', reason: expect.stringMatching(/not found/) });
    expect(r.skipped).toEqual([expect.stringMatching(/^GPU: .*no-such-nvidia-smi not found/)]);

    const figures = await recordSystemResources('selftest.load', r, { method: 'unit test' });
    const ids = figures.map((f) => f.id);
    expect(ids).toEqual([
      'selftest.load.system.cpu.mean',
      'selftest.load.system.cpu.max',
      'selftest.load.system.memory.pct.max',
      'selftest.load.system.memory.used.max',
      'selftest.load.system.memory.used.growth',
      'selftest.load.system.disk.read.rate',
      'selftest.load.system.disk.write.rate',
      'selftest.load.system.disk.usage.pct',
    ]);
    const byId = Object.fromEntries(figures.map((f) => [f.id, f]));
    const cpuMean = byId['selftest.load.system.cpu.mean']!;
    expect(cpuMean.unit).toBe('%');
    expect(cpuMean.series).toHaveLength(r.samples.length - 1);
    expect(cpuMean.method).toMatch(/^unit test \(whole machine, \d+ cores, .*\/proc\/stat/);
    expect(cpuMean.method).toMatch(/not measured: GPU: .*not found/);
    expect(byId['selftest.load.system.memory.used.growth']!.scale).toBe('linear');
    expect(byId['selftest.load.system.disk.read.rate']!.unit).toBe('B/s');
    expect(figures.every((f) => f.valid)).toBe(true);
    const stored = readFileSync(runContext().figuresFile, 'utf8');
    expect(stored).toContain('selftest.load.system.cpu.mean');
  });
});

describe('SystemSampler fallbacks and the GPU', () => {
  it('falls back to os.cpus()/os.freemem() and says disk I/O was not measured', async () => {
    const sampler = new SystemSampler({ intervalMs: 30, source: 'os', nvidiaSmi: false }).start();
    await sleep(200);
    const r = sampler.stop();
    expect(r.source).toBe('os');
    expect(r.samples.length).toBeGreaterThanOrEqual(3);
    expect(r.samples.every((s) => s.diskReadBps === undefined && s.memoryUsedMiB > 0)).toBe(true);
    expect(r.skipped).toEqual([
      expect.stringMatching(/^disk I\/O: \/proc\/diskstats is Linux-only/),
      'GPU: GPU sampling turned off by the caller',
    ]);
    const ids = (await recordSystemResources('selftest.os', r, { method: 'unit test' })).map((f) => f.id);
    expect(ids).not.toContain('selftest.os.system.disk.read.rate');
    expect(ids).toContain('selftest.os.system.cpu.mean');
  });

  it.runIf(linux)('keeps why nvidia-smi failed, in its own words', () => {
    const broken = fakeNvidiaSmi(
      'broken-nvidia-smi',
      `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."; exit 9`,
    );
    expect(probeGpu(broken)).toEqual({
      ok: false,
      reason: `${broken} failed (exit 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.`,
    });
    const r = new SystemSampler({ intervalMs: 1000, nvidiaSmi: broken }).start().stop();
    expect(r.gpu.state).toBe('skipped');
    expect(r.skipped.at(-1)).toMatch(/^GPU: .*exit 9/);
  });

  it.runIf(linux)('samples utilisation and memory from nvidia-smi where it answers', async () => {
    // Two GPUs, one busy: utilisation averages, memory adds up.
    const smi = fakeNvidiaSmi('nvidia-smi', 'echo "60, 1000, 81559"; echo "20, 24, 81559"');
    const sampler = new SystemSampler({ intervalMs: 50, gpuIntervalMs: 60, nvidiaSmi: smi }).start();
    await sleep(400);
    const r: SystemResult = sampler.stop();
    if (r.gpu.state !== 'sampled') throw new Error(`GPU not sampled: ${r.gpu.reason}`);
    expect(r.gpu.count).toBe(2);
    expect(r.gpu.memoryTotalMiB).toBe(2 * 81559);
    expect(r.gpu.samples.length).toBeGreaterThanOrEqual(2);
    expect(r.gpu.samples[0]).toMatchObject({ utilPct: 40, memoryUsedMiB: 1024 });
    expect(r.skipped).toEqual([]);
    const figures = await recordSystemResources('selftest.gpu', r, { method: 'unit test' });
    const util = figures.find((f) => f.id === 'selftest.gpu.system.gpu.util.mean');
    const mem = figures.find((f) => f.id === 'selftest.gpu.system.gpu.memory.max');
    expect(util?.value).toBe(40);
    expect(mem).toMatchObject({ value: 1024, unit: 'MiB' });
    expect(mem?.method).toMatch(/2 GPU\(s\) with 163118 MiB/);
    expect(util?.method).not.toMatch(/not measured/);
  });
});
