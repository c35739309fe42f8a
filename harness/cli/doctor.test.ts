import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../systems/registry.ts';
import { formatChecks, systemChecks } from './doctor.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'rig-doctor-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function system(name: string, body: string): void {
  mkdirSync(path.join(root, 'systems', name), { recursive: true });
  writeFileSync(path.join(root, 'systems', name, 'system.ts'), body);
}

describe('rig doctor: the systems’ own checks', () => {
  it('asks each system, and turns a system that fails to load or check into a failed line', async () => {
    system(
      'fine',
      `export default { name: 'fine', description: 'x', defaultProvider: 'inprocess',
        doctor: async () => [{ name: 'thing', ok: false, detail: 'absent', hint: 'install it' }] };`,
    );
    system('silent', `export default { name: 'silent', description: 'x', defaultProvider: 'inprocess' };`);
    system('broken', `throw new Error('cannot load\\nsecond line');`);
    system(
      'throws',
      `export default { name: 'throws', description: 'x', defaultProvider: 'inprocess',
        doctor: async () => { throw new Error('probe crashed'); } };`,
    );
    const checks = await systemChecks(root);
    expect(checks).toEqual([
      expect.objectContaining({ system: 'broken', name: 'system', ok: false, detail: 'cannot load' }),
      { system: 'fine', name: 'thing', ok: false, detail: 'absent', hint: 'install it' },
      expect.objectContaining({ system: 'throws', name: 'system', ok: false, detail: 'probe crashed' }),
    ]);
    expect(formatChecks(checks)).toContain('missing fine thing       absent\n        -> install it');
  });

  it("moves the queue addon and the inference models into those systems' doctor()", async () => {
    const checks = await systemChecks(REPO_ROOT);
    // off Linux the queue says why it cannot run there instead (systems/queue/src/platform.ts)
    const queueLine =
      process.platform === 'linux'
        ? { system: 'queue', name: 'addon', ok: true }
        : { system: 'queue', name: 'platform', ok: false, detail: expect.stringContaining('Linux only') };
    expect(checks).toContainEqual(expect.objectContaining(queueLine));
    expect(checks).toContainEqual(expect.objectContaining({ system: 'inference', name: 'models' }));
  });
});
