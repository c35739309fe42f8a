import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { main, splitStartArgs } from './cli.ts';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'rig.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function rig(args: string[]) {
  return execa(process.execPath, [bin, ...args], {
    cwd: root,
    reject: false,
    all: true,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
}

/** A finished run directory with the given figures, as `rig run` would leave it. */
function fakeRun(values: Record<string, number>, meta: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-cli-'));
  dirs.push(dir);
  const now = new Date().toISOString();
  writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      runId: path.basename(dir),
      profile: 'smoke',
      startedAt: now,
      argv: [],
      files: [],
      environment: { commit: 'abc123' },
      tests: { passed: 1, failed: 0, skipped: 0, total: 1 },
      vitestExitCode: 0,
      ...meta,
    }),
  );
  const lines = Object.entries(values).map(([id, value]) =>
    JSON.stringify({
      id,
      system: 'selftest',
      suite: 'latency',
      value,
      unit: 'us',
      better: 'lower',
      n: 5000,
      method: 'fake',
      valid: true,
      runId: path.basename(dir),
      profile: 'smoke',
      at: now,
      stats: {
        n: 5000,
        min: 1,
        p50: value,
        p90: value,
        p95: value,
        p99: value,
        max: value,
        mean: value,
        sd: 1,
        ci95: [value * 0.98, value * 1.02],
        ciMethod: 'bootstrap',
      },
    }),
  );
  writeFileSync(path.join(dir, 'figures.jsonl'), `${lines.join('\n')}\n`);
  return dir;
}

describe('rig CLI, end to end', () => {
  it('gate exits 1 on a breached threshold and names the figure', async () => {
    const run = fakeRun({ 'selftest.op.p99': 80 });
    const thresholds = path.join(run, 'th.json');
    writeFileSync(thresholds, JSON.stringify({ 'selftest.op.p99': ['< 50us'] }));
    const r = await rig([
      'gate',
      '--run',
      run,
      '--thresholds',
      thresholds,
      '--baseline',
      path.join(run, 'none.json'),
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain('selftest.op.p99');
    expect(r.all).toContain('BREACH');
  });

  it('gate exits 0 on an A/A rerun against the baseline it wrote', async () => {
    const a = fakeRun({ 'selftest.op.p99': 40, 'selftest.op.p50': 10 });
    const b = fakeRun({ 'selftest.op.p99': 41, 'selftest.op.p50': 9.8 });
    const baseline = path.join(a, 'baseline.json');
    const w = await rig(['gate', '--run', a, '--update-baseline', '--baseline', baseline]);
    expect(w.exitCode).toBe(0);
    const r = await rig(['gate', '--run', b, '--baseline', baseline]);
    expect(r.all).toContain('2 pass');
    expect(r.exitCode).toBe(0);
    const worse = fakeRun({ 'selftest.op.p99': 90, 'selftest.op.p50': 10 });
    const r2 = await rig(['gate', '--run', worse, '--baseline', baseline]);
    expect(r2.exitCode).toBe(1);
    expect(r2.all).toContain('REGRESSED');
  });

  it('calibrates from A/A runs, refuses an injected run, and judges against the measured spread', async () => {
    const aa = [1, 1.04, 0.97, 1.02, 0.99].map((k) =>
      fakeRun({ 'selftest.op.p99': 40 * k, 'selftest.op.p50': 10 * (2 - k) }),
    );
    const baseline = path.join(aa[0]!, 'calibrated.json');
    const refused = await rig([
      'calibrate',
      '--from-runs',
      [...aa.slice(0, 2), fakeRun({ 'selftest.op.p99': 40 }, { injected: { slowdown: 0.15 } })].join(','),
      '--baseline',
      baseline,
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.all).toContain('RIG_BASELINE_REFUSED');
    expect(refused.all).toContain('injected slowdown');
    const ok = await rig(['calibrate', '--from-runs', aa.join(','), '--baseline', baseline]);
    expect(ok.exitCode, ok.all).toBe(0);
    expect(ok.all).toContain('2 with a between-run spread');
    expect(ok.all).toContain('leave-one-out A/A: 0 of 5');
    const same = await rig([
      'gate',
      '--run',
      fakeRun({ 'selftest.op.p99': 41, 'selftest.op.p50': 10.1 }),
      '--baseline',
      baseline,
    ]);
    expect(same.exitCode, same.all).toBe(0);
    const slow = await rig([
      'gate',
      '--run',
      fakeRun({ 'selftest.op.p99': 80, 'selftest.op.p50': 10 }),
      '--baseline',
      baseline,
    ]);
    expect(slow.exitCode).toBe(1);
    expect(slow.all).toMatch(/selftest\.op\.p99 .*worse by 100\.\d%.*REGRESSED/);
    const failed = fakeRun(
      { 'selftest.op.p99': 40 },
      { tests: { passed: 0, failed: 2, skipped: 0, total: 2 } },
    );
    const update = await rig(['gate', '--run', failed, '--update-baseline', '--baseline', baseline]);
    expect(update.exitCode).toBe(1);
    expect(update.all).toContain('2 tests failed');
    const forced = await rig([
      'gate',
      '--run',
      failed,
      '--update-baseline',
      '--force',
      '--baseline',
      baseline,
    ]);
    expect(forced.exitCode).toBe(0);
    expect(forced.all).toContain('keep the between-run spread');
  });

  it('answers a user mistake with one line and the fix, no stack trace', async () => {
    const r = await rig(['run', '--profile', 'nope']);
    expect(r.exitCode).toBe(2);
    expect(r.all).toContain('unknown profile "nope"');
    expect(r.all).toContain('RIG_PROFILE_UNKNOWN');
    expect(r.all).not.toMatch(/at .*\.ts:\d+/);
    const t = await rig(['run', '--target', 'inference=ftp://x']);
    expect(t.exitCode).toBe(2);
    expect(t.all).toContain('RIG_TARGET_INVALID');
  });

  it('prints help for each command', async () => {
    // One through the bin; the others in process (a process start each would cost seconds).
    const r = await rig(['run', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.all).toContain('rig run');
    const printed: string[] = [];
    const log = vi
      .spyOn(console, 'log')
      .mockImplementation((line: unknown) => void printed.push(String(line)));
    try {
      for (const command of ['report', 'gate', 'calibrate', 'systems', 'doctor', 'site', 'merge']) {
        printed.length = 0;
        expect(await main([command, '--help']), command).toBe(0);
        expect(printed.join('\n'), command).toContain(`rig ${command}`);
      }
    } finally {
      log.mockRestore();
    }
  });
});

describe('rig systems start <name> --<option> value', () => {
  const schema = z
    .object({
      url: z.string().optional(),
      delayMs: z.number().int().min(0).optional(),
      failRate: z.number().optional(),
      verbose: z.boolean().optional(),
      timeoutMs: z.number().default(5).optional(),
    })
    .strict();

  it('turns kebab-case flags into camelCase options typed by the system’s schema', () => {
    const { own, options } = splitStartArgs(
      [
        '--url',
        'http://127.0.0.1:8300',
        '--delay-ms',
        '50',
        '--port',
        '9000',
        '--verbose',
        '--fail-rate=0.25',
        '--timeout-ms',
        '7',
      ],
      schema,
    );
    expect(own).toEqual(['--port', '9000']);
    expect(options).toEqual({
      url: 'http://127.0.0.1:8300',
      delayMs: 50,
      verbose: true,
      failRate: 0.25,
      timeoutMs: 7,
    });
    expect(schema.parse(options)).toEqual(options);
  });

  it('keeps a boolean followed by the next flag, and an explicit false', () => {
    expect(splitStartArgs(['--verbose', '--url', 'x'], schema).options).toEqual({ verbose: true, url: 'x' });
    expect(splitStartArgs(['--verbose', 'false'], schema).options).toEqual({ verbose: false });
  });

  it('leaves a bad value or an unknown flag for the schema to refuse, and a missing value is a usage error', () => {
    expect(splitStartArgs(['--delay-ms', 'soon', '--bogus-flag', '1'], schema).options).toEqual({
      delayMs: 'soon',
      bogusFlag: '1',
    });
    expect(() => splitStartArgs(['--delay-ms'], schema)).toThrow(/--delay-ms needs a value/);
  });

  it('refuses an option the system does not declare with RIG_CONFIG_INVALID, naming the allowed ones', async () => {
    const r = await rig([
      'systems',
      'start',
      'spaces-mock-app',
      '--url',
      'http://127.0.0.1:1',
      '--dlay-ms',
      '5',
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.all).toContain('systems.spaces-mock-app.options.dlayMs: unrecognized key');
    expect(r.all).toContain('allowed: url, space, token, delayMs');
    expect(r.all).toContain('[RIG_CONFIG_INVALID]');
    const bad = await rig(['systems', 'start', 'spaces-mock-app', '--fail-rate', '2']);
    expect(bad.exitCode).toBe(2);
    expect(bad.all).toContain('systems.spaces-mock-app.options.failRate');
  });
});
