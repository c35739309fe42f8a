// The CI workflows cannot run here; `npm run lint:workflows` checks them with action-validator
// (the workflow schema, and that every `needs` names a job). This proves the linter is not one that
// passes everything: it fails a broken workflow, and passes the two real ones.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'node_modules', '@action-validator', 'cli', 'cli.mjs');
const WORKFLOWS = ['.github/workflows/ci.yml', '.github/workflows/nightly.yml'];
const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-workflows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const validate = (file: string, cwd = root) =>
  execa(process.execPath, [cli, file], {
    cwd,
    reject: false,
    all: true,
    env: { ...process.env, FORCE_COLOR: '0' },
  });

/** A workflow with one mistake of each kind the linter is relied on for. */
const BROKEN = `name: broken
on:
  push:
  pul_request:
jobs:
  test:
    runs-on: ubuntu-24.04
    timeout-minutes: soon
    steps:
      - uses: actions/checkout@v4
        with: 3
      - name: a step that does nothing
  report:
    needs: [tets]
    runs-on: ubuntu-24.04
    step:
      - run: echo
`;

describe('the workflow linter (npm run lint:workflows)', () => {
  it('fails a broken workflow and names each fault; passes ci.yml and nightly.yml', async () => {
    const broken = path.join(dir, 'broken.yml');
    writeFileSync(broken, BROKEN);
    const unparsable = path.join(dir, 'unparsable.yml');
    writeFileSync(unparsable, 'jobs:\n  a:\n    steps:\n      - run: "x\n    - b\n');
    const [bad, garbled, ...real] = await Promise.all([
      validate(broken, dir),
      validate(unparsable, dir),
      ...WORKFLOWS.map((f) => validate(f)),
    ]);
    expect(bad!.exitCode).toBe(1);
    expect(bad!.all).toContain('unresolved job tets');
    expect(bad!.all).toContain("Additional property 'pul_request' is not allowed");
    expect(bad!.all).toContain("Additional property 'step' is not allowed");
    expect(bad!.all).toMatch(/\/jobs\/test\/timeout-minutes/);
    expect(bad!.all).toMatch(/\/jobs\/test\/steps\/1/);
    expect(garbled!.exitCode).toBe(1);
    expect(garbled!.all).toContain('parse_error');
    for (const [i, result] of real.entries())
      expect(result.exitCode, `${WORKFLOWS[i]}: ${result.all}`).toBe(0);
  });

  it('is what npm test runs, on both workflows', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const file of WORKFLOWS) expect(scripts['lint:workflows']).toContain(`action-validator ${file}`);
    expect(scripts.test).toContain('npm run lint:workflows');
  });
});
