import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROFILES, resolveProfile } from '../config/profile.ts';
import { RigError } from '../errors.ts';
import { categoryOf, selectFiles } from './select.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

describe('file selection', () => {
  it('maps paths to categories', () => {
    expect(categoryOf('suites/latency/queue.latency.test.ts')).toBe('latency');
    expect(categoryOf('systems/queue/test/put.test.ts')).toBe('unit');
    expect(categoryOf('harness/gate/evaluate.test.ts')).toBe('unit');
    expect(categoryOf('suites/browser/spaces.e2e.spec.ts')).toBe('e2e');
  });

  it('hands browser specs to Playwright, by category e2e and by system', () => {
    const e2e = selectFiles(root, BUILTIN_PROFILES.smoke!.suites, { suites: ['e2e'] });
    expect(e2e.browser).toContain('suites/browser/harness.reports.spec.ts');
    expect(e2e.browser).toContain('suites/browser/spaces.e2e.spec.ts');
    expect(e2e.vitest.every((f) => f.endsWith('.test.ts'))).toBe(true);
    expect(e2e.files).toEqual([...e2e.vitest, ...e2e.browser]);
    const spaces = selectFiles(root, BUILTIN_PROFILES.smoke!.suites, {
      suites: ['e2e'],
      systems: ['spaces'],
    });
    expect(spaces.browser).toEqual(['suites/browser/spaces.e2e.spec.ts']);
    const harness = selectFiles(root, BUILTIN_PROFILES.smoke!.suites, {
      suites: ['e2e'],
      systems: ['harness'],
    });
    expect(harness.browser).toEqual([
      'suites/browser/harness.reports.spec.ts',
      'suites/browser/harness.site.spec.ts',
    ]);
    const latency = selectFiles(root, BUILTIN_PROFILES.smoke!.suites, { suites: ['latency'] });
    expect(latency.browser).toEqual([]);
  });

  it('runs unit files first and narrows by system and suite', () => {
    const all = selectFiles(root, BUILTIN_PROFILES.smoke!.suites);
    const firstSuite = all.files.findIndex((f) => f.startsWith('suites/'));
    expect(all.files.slice(firstSuite).every((f) => f.startsWith('suites/'))).toBe(true);
    expect(all.files.some((f) => f.startsWith('suites/bench/'))).toBe(false);
    const harness = selectFiles(root, BUILTIN_PROFILES.smoke!.suites, { systems: ['harness'] });
    expect(harness.files.length).toBeGreaterThan(0);
    expect(
      harness.files.every((f) => f.startsWith('harness/') || path.basename(f).startsWith('harness.')),
    ).toBe(true);
    const latency = selectFiles(root, BUILTIN_PROFILES.smoke!.suites, { suites: ['latency'] });
    expect(latency.files.every((f) => f.startsWith('suites/latency/'))).toBe(true);
  });
});

describe('profiles', () => {
  it('scales counts and clamps durations', () => {
    const nightly = resolveProfile('nightly');
    expect(nightly.count(10)).toBe(200);
    expect(resolveProfile('smoke').count(0.1)).toBe(1);
    expect(resolveProfile('smoke').duration(1_000_000)).toBe(resolveProfile('smoke').soakMs);
    expect(Object.isFrozen(nightly)).toBe(true);
  });

  it('names the field and the allowed values on a bad profile', () => {
    expect(() => resolveProfile('weekly')).toThrow(/allowed: smoke, nightly, bench/);
    try {
      resolveProfile('smoke', { durationMs: -1 });
      expect.unreachable();
    } catch (error) {
      expect((error as RigError).code).toBe('RIG_CONFIG_INVALID');
      expect((error as RigError).message).toContain('durationMs');
    }
  });
});

describe('rig.config.json', () => {
  it('validates overrides and custom profiles, naming the field', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const os = await import('node:os');
    const { loadRigConfig } = await import('../config/rig-config.ts');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-config-'));
    writeFileSync(
      path.join(dir, 'rig.config.json'),
      JSON.stringify({
        profiles: { smoke: { durationMs: 2500 } },
        targets: { inference: 'http://127.0.0.1:9/v1' },
      }),
    );
    const config = loadRigConfig(dir);
    expect(resolveProfile('smoke', config.profiles.smoke).durationMs).toBe(2500);
    expect(config.targets.inference).toBe('http://127.0.0.1:9/v1');
    writeFileSync(
      path.join(dir, 'rig.config.json'),
      JSON.stringify({ profiles: { smoke: { durationMs: 'long' } } }),
    );
    expect(() => loadRigConfig(dir)).toThrow(/profiles\.smoke\.durationMs/);
    writeFileSync(path.join(dir, 'rig.config.json'), JSON.stringify({ targets: { x: 'ftp://a' } }));
    expect(() => loadRigConfig(dir)).toThrow(RigError);
    // a custom profile must be complete
    expect(() => resolveProfile('weekly', { durationMs: 5 })).toThrow(/weekly/);
    const weekly = resolveProfile('weekly', { ...BUILTIN_PROFILES.nightly!, scale: 50 });
    expect(weekly.count(1)).toBe(50);
  });
});
