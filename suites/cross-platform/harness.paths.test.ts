// Paths that leave this machine (run.json's `files`, links in reports) are relative and use forward
// slashes on every OS. Windows behaviour is checked here through path.win32; on the nightly
// Windows job the same selection test sees real backslash paths.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, relativeUrl, selectFiles, toPosixPath, toUrlPath } from '../../harness/index.ts';

describe('native paths to URL paths', () => {
  it('Windows: backslashes become slashes, each part is percent-encoded', () => {
    expect(toPosixPath('suites\\cross-platform\\harness.paths.test.ts', path.win32)).toBe(
      'suites/cross-platform/harness.paths.test.ts',
    );
    expect(toUrlPath('20261201-x\\allure report\\index.html', path.win32)).toBe(
      '20261201-x/allure%20report/index.html',
    );
    expect(toUrlPath('runs\\a#1?\\index.html', path.win32)).toBe('runs/a%231%3F/index.html');
    expect(
      relativeUrl('C:\\work\\rig\\reports', 'C:\\work\\rig\\reports\\20261201-x\\index.html', path.win32),
    ).toBe('20261201-x/index.html');
    expect(relativeUrl('C:\\work\\rig\\reports\\site', 'C:\\work\\rig\\reports\\a\\b.html', path.win32)).toBe(
      '../a/b.html',
    );
  });

  it('POSIX: the path is kept (a backslash is a character of a name there, and is encoded)', () => {
    expect(toPosixPath('suites/x/y.test.ts', path.posix)).toBe('suites/x/y.test.ts');
    expect(toUrlPath('a\\b/c d.html', path.posix)).toBe('a%5Cb/c%20d.html');
    expect(relativeUrl('/r/reports', '/r/reports/run/index.html', path.posix)).toBe('run/index.html');
  });

  it('refuses an absolute path, which would break the link once the report is copied elsewhere', () => {
    for (const p of ['C:\\work\\rig\\reports\\x.html', 'C:x.html', '\\\\server\\share\\x.html', '\\x.html']) {
      expect(() => toUrlPath(p, path.win32), p).toThrow(/must be relative/);
    }
    expect(() => toUrlPath('/r/x.html', path.posix)).toThrow(/must be relative/);
    // another drive: path.win32.relative can only answer with an absolute path
    expect(() => relativeUrl('C:\\r\\reports', 'D:\\runs\\x.html', path.win32)).toThrow(/must be relative/);
  });
});

describe("run.json's files on this OS", () => {
  it('are repository-relative with forward slashes, and include the cross-platform suites', () => {
    const { files } = selectFiles(REPO_ROOT, ['unit', 'cross-platform']);
    expect(files).toContain('suites/cross-platform/harness.paths.test.ts');
    for (const f of files) {
      expect(f).not.toContain('\\');
      expect(path.isAbsolute(f)).toBe(false);
    }
  });
});

describe('line ends in this checkout (.gitattributes)', () => {
  it('text is checked out with LF on every OS; models are binary', () => {
    const rules = readFileSync(path.join(REPO_ROOT, '.gitattributes'), 'utf8').split('\n');
    expect(rules).toContain('* text=auto eol=lf');
    expect(rules).toContain('*.gguf binary');
  });

  it('scripts, thresholds and baselines have no CR here (on Windows: what .gitattributes gives)', () => {
    const inDir = (dir: string) =>
      readdirSync(path.join(REPO_ROOT, dir))
        .filter((f) => /\.(json|mjs)$/.test(f))
        .map((f) => path.join(dir, f));
    const files = [
      '.ci/run',
      'bin/rig.mjs',
      'systems/queue/install.mjs',
      ...inDir('scripts'),
      ...inDir('thresholds'),
      ...inDir(path.join('reports', 'baselines')),
    ];
    expect(files.length).toBeGreaterThan(8);
    for (const f of files) expect(readFileSync(path.join(REPO_ROOT, f), 'utf8'), f).not.toContain('\r');
  });
});
