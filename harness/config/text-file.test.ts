// Files edited or checked out on Windows: a UTF-8 BOM and CRLF line ends read like rig's own output.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBaseline } from '../gate/baseline.ts';
import { loadThresholds } from '../gate/thresholds.ts';
import { parseFiguresJsonl } from '../measure/record.ts';
import { REPO_ROOT } from '../systems/registry.ts';
import { loadRigConfig } from './rig-config.ts';
import { readTextFile, stripBom, textLines } from './text-file.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a Windows editor may save: a byte order mark and CRLF. */
const windowsText = (text: string) => `\uFEFF${text.replace(/\r?\n/g, '\r\n')}`;

function write(rel: string, text: string): string {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

describe('text files with a BOM and CRLF', () => {
  it('strips one leading BOM and splits at LF or CRLF', () => {
    expect(stripBom('\uFEFF{"a":1}')).toBe('{"a":1}');
    expect(stripBom('a\uFEFF')).toBe('a\uFEFF');
    expect(textLines('\uFEFFone\r\ntwo\nthree\r\n')).toEqual(['one', 'two', 'three', '']);
    expect(readTextFile(write('bom.txt', windowsText('x\n')))).toBe('x\r\n');
  });

  it('figures.jsonl: every line of a CRLF file with a BOM is a figure, none rejected', () => {
    const line = (id: string) =>
      JSON.stringify({
        id,
        system: 'a',
        suite: 's',
        value: 1,
        unit: 'us',
        better: 'lower',
        n: 1,
        method: 'm',
        valid: true,
        runId: 'r',
        profile: 'smoke',
        at: 'now',
      });
    const { figures, rejected } = parseFiguresJsonl(windowsText(`${line('a.b')}\n${line('a.c')}\n`));
    expect(rejected).toEqual([]);
    expect(figures.map((f) => f.id)).toEqual(['a.b', 'a.c']);
  });

  it('thresholds, baselines and rig.config.json read the same as their LF, BOM-less originals', () => {
    const root = path.join(dir, 'repo');
    write('repo/thresholds/x.json', windowsText('{\n  "a.b.p99": ["< 5ms"]\n}\n'));
    const rules = loadThresholds(root);
    expect(rules).toEqual([expect.objectContaining({ pattern: 'a.b.p99', limit: 5, unit: 'ms' })]);
    expect(JSON.stringify(rules)).toContain('thresholds/x.json'); // forward slashes on every OS

    const original = path.join(REPO_ROOT, 'reports', 'baselines', 'smoke.json');
    const copy = write('smoke.json', windowsText(readFileSync(original, 'utf8')));
    expect(readBaseline(copy)).toEqual(readBaseline(original));

    const config = write(
      'rig.config.json',
      windowsText('{\n  "profiles": { "smoke": { "durationMs": 2000 } }\n}\n'),
    );
    expect(loadRigConfig(dir, config).profiles.smoke).toMatchObject({ durationMs: 2000 });
  });
});
