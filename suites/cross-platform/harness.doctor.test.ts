// `rig doctor` per OS: its machine lines are a pure function of the facts it reads, so Linux, macOS
// and Windows machines are all checked here; the queue's line comes from the queue's own guard.
// (harness/cli/doctor.test.ts runs the real doctor of the systems on whatever OS runs it.)
import { describe, expect, it } from 'vitest';
import {
  chromiumExecutable,
  chromiumUnavailableReason,
  formatChecks,
  type MachineFacts,
  machineChecks,
} from '../../harness/index.ts';
import { queuePlatformCheck } from '../../systems/queue/index.ts';

function facts(overrides: Partial<MachineFacts>): MachineFacts {
  return {
    platform: 'linux',
    node: 'v20.20.2',
    tools: { cc: 'cc 12.2.0', make: 'GNU Make 4.3', python3: 'Python 3.11.7', valgrind: 'valgrind-3.19.0' },
    nodeHeaders: true,
    aslrOff: true,
    chromium: { path: '/usr/bin/chromium', version: 'Chromium 156' },
    cores: 4,
    memoryBytes: 16 * 1024 ** 3,
    gpu: { ok: false, reason: 'nvidia-smi not found (no NVIDIA driver on this machine)' },
    ...overrides,
  };
}

const byName = (checks: ReturnType<typeof machineChecks>) => new Map(checks.map((c) => [c.name, c]));

describe('rig doctor on Linux', () => {
  it('checks the queue toolchain, headers, valgrind and setarch -R', () => {
    const names = machineChecks(facts({})).map((c) => c.name);
    expect(names).toEqual([
      'Node.js',
      'cc',
      'make',
      'python3',
      'Node headers',
      'Chromium',
      'Docker engine',
      'valgrind',
      'ASLR off',
      'cores',
      'GPU / machine',
    ]);
    const missing = byName(
      machineChecks(facts({ tools: {}, aslrOff: false, docker: 'no Docker engine answers' })),
    );
    expect(missing.get('cc')).toMatchObject({
      ok: false,
      hint: expect.stringContaining('apt-get install -y build-essential'),
    });
    expect(missing.get('valgrind')).toMatchObject({
      ok: false,
      hint: expect.stringContaining('apt-get install -y valgrind'),
    });
    expect(missing.get('ASLR off')).toMatchObject({ ok: false });
    expect(missing.get('Docker engine')).toMatchObject({ ok: false, detail: 'no Docker engine answers' });
    expect(queuePlatformCheck('linux')).toBeUndefined(); // the queue's own lines: addon and stale segments
  });
});

describe('rig doctor on macOS', () => {
  const darwin = byName(
    machineChecks(
      facts({
        platform: 'darwin',
        tools: {},
        nodeHeaders: false,
        aslrOff: false,
        chromium: { reason: chromiumUnavailableReason({}, { platform: 'darwin', exists: () => false })! },
        docker: 'no Docker engine answers',
      }),
    ),
  );

  it('needs no C toolchain and says instruction counts are skipped (valgrind and setarch -R are Linux only here)', () => {
    expect(darwin.get('C toolchain')).toMatchObject({
      ok: true,
      detail: expect.stringContaining('Linux only'),
    });
    expect(darwin.has('cc')).toBe(false);
    expect(darwin.has('Node headers')).toBe(false);
    expect(darwin.has('ASLR off')).toBe(false);
    expect(darwin.get('valgrind')).toMatchObject({
      ok: false,
      detail: 'instruction counts need valgrind on Linux; this is darwin',
      hint: expect.stringContaining('skipped with this reason'),
    });
  });

  it('looks for Google Chrome or Chromium in /Applications, and Docker Desktop', () => {
    expect(darwin.get('Chromium')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'),
      hint: expect.stringContaining('Google Chrome'),
    });
    const chrome = '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome';
    expect(chromiumExecutable({}, { platform: 'darwin', exists: (f) => f === chrome })).toBe(chrome);
    expect(darwin.get('Docker engine')?.hint).toContain('Docker Desktop');
    expect(darwin.get('GPU / machine')?.hint).toContain('Metal');
  });

  it("the queue's line says unsupported, with what macOS lacks", () => {
    const line = queuePlatformCheck('darwin')!;
    expect(line).toMatchObject({ name: 'platform', ok: false });
    expect(line.detail).toMatch(/^unsupported: the shared-memory queue runs on Linux only/);
    expect(line.detail).toContain('os_sync_wait_on_address');
    expect(formatChecks([{ ...line, system: 'queue' }])).toMatch(/^missing queue platform\s+unsupported: /);
  });
});

describe('rig doctor on Windows', () => {
  const win = byName(
    machineChecks(
      facts({
        platform: 'win32',
        tools: {},
        nodeHeaders: false,
        aslrOff: false,
        chromium: { path: 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe' },
      }),
    ),
  );

  it('needs no C toolchain, skips instruction counts, finds Chrome in Program Files', () => {
    expect(win.get('C toolchain')).toMatchObject({ ok: true });
    expect(win.get('valgrind')).toMatchObject({
      ok: false,
      detail: 'instruction counts need valgrind on Linux; this is win32',
    });
    expect(win.get('Chromium')).toEqual({
      name: 'Chromium',
      ok: true,
      detail: 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
    });
    const candidates = chromiumUnavailableReason({}, { platform: 'win32', exists: () => false });
    expect(candidates).toContain('C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe');
    expect(candidates).toContain('C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe');
    expect(win.get('Docker engine')).toMatchObject({ ok: true, detail: 'answers' });
  });

  it("the queue's line says unsupported, with what a Windows port would use", () => {
    const line = queuePlatformCheck('win32')!;
    expect(line.detail).toContain('CreateFileMapping');
    expect(line.detail).toContain('WAIT_ABANDONED');
    expect(line.hint).toContain('skipped with this reason');
  });
});

describe('rig doctor on every OS', () => {
  it('flags a Node older than 20.19', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const node = byName(machineChecks(facts({ platform, node: 'v20.11.0' }))).get('Node.js');
      expect(node).toMatchObject({ ok: false, hint: 'install Node 20.19+ or 22.12+' });
      expect(byName(machineChecks(facts({ platform, node: 'v22.12.0' }))).get('Node.js')?.ok).toBe(true);
    }
  });

  it('RIG_CHROMIUM wins over the candidates, on any OS', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const lookup = { platform, exists: (f: string) => f === 'D:\\browsers\\chrome.exe' };
      expect(chromiumExecutable({ RIG_CHROMIUM: 'D:\\browsers\\chrome.exe' }, lookup)).toBe(
        'D:\\browsers\\chrome.exe',
      );
      expect(chromiumUnavailableReason({ RIG_CHROMIUM: 'E:\\none.exe' }, lookup)).toContain(
        'RIG_CHROMIUM=E:\\none.exe',
      );
    }
  });
});
