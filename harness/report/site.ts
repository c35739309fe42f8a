import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { esc } from './html.ts';
import { loadRun } from './run-data.ts';

/** reports/index.html: every run in reports/, newest first, with links to its reports. */
export function writeSiteIndex(reportsDir: string): string {
  const runs = readdirSync(reportsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(reportsDir, d.name, 'run.json')))
    .map((d) => {
      try {
        return loadRun(path.join(reportsDir, d.name));
      } catch {
        return undefined;
      }
    })
    .filter((r) => r !== undefined)
    .sort((a, b) => b.meta.startedAt.localeCompare(a.meta.startedAt));
  const rows = runs
    .map((run) => {
      const id = run.meta.runId;
      const verdicts = run.verdicts ?? [];
      const bad = verdicts.filter((v) => v.state === 'breach' || v.state === 'regressed').length;
      const invalid = verdicts.filter((v) => v.state === 'invalid').length;
      const tests = run.meta.tests;
      const allure = existsSync(path.join(run.dir, 'allure-report', 'index.html'))
        ? `<a href="${esc(id)}/allure-report/index.html">Allure</a>`
        : '';
      return `<tr><td><a href="${esc(id)}/index.html">${esc(id)}</a></td><td>${esc(run.meta.profile)}</td><td>${esc(run.meta.startedAt)}</td>
<td>${tests ? `${tests.passed}/${tests.total}` : ''}</td><td>${run.figures.length}</td><td>${bad}</td><td>${invalid}</td><td>${allure}</td></tr>`;
    })
    .join('\n');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rig reports</title>
<style>body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body><h1>rig reports</h1><table><thead><tr><th>run</th><th>profile</th><th>started</th><th>tests passed</th><th>figures</th><th>breaches + regressions</th><th>no verdict</th><th>Allure</th></tr></thead>
<tbody>${rows}</tbody></table></body></html>\n`;
  const file = path.join(reportsDir, 'index.html');
  writeFileSync(file, html);
  return file;
}
