// Runs each system's own install step (systems/<name>/install.mjs), e.g. building a native addon
// with node-gyp. A failing step fails the install with its output shown.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
for (const name of readdirSync(path.join(root, 'systems')).sort()) {
  const step = path.join(root, 'systems', name, 'install.mjs');
  if (!existsSync(step)) continue;
  console.log(`rig postinstall: systems/${name}/install.mjs`);
  const result = spawnSync(process.execPath, [step], { stdio: 'inherit', cwd: path.dirname(step) });
  if (result.status !== 0) {
    console.error(`rig postinstall: systems/${name}/install.mjs failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}
