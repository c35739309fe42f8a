// Builds the queue's Node-API addon (systems/queue/native) with node-gyp from node_modules.
// Run by the root postinstall (cwd systems/queue) or directly: `node systems/queue/install.mjs`.
// Uses the local Node headers when they exist (offline build); fails loudly otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const root = path.resolve(here, '..', '..');
const native = path.join(here, 'native');
const gypBin = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const built = path.join(native, 'build', 'Release', 'rig_queue.node');

if (process.platform !== 'linux') {
  console.error(
    `systems/queue: the shared-memory queue needs Linux (futex, POSIX shm); platform is ${process.platform}`,
  );
  process.exit(1);
}
if (!existsSync(gypBin)) {
  console.error(`systems/queue: node-gyp not found at ${gypBin}; install the devDependencies first`);
  process.exit(1);
}

const args = [gypBin, 'rebuild'];
// Headers next to the running node (e.g. /usr/include/node) let node-gyp build without a download.
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
if (existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);

console.log(`systems/queue: node ${args.slice(1).join(' ')} (in ${native})`);
const result = spawnSync(process.execPath, args, { cwd: native, stdio: 'inherit' });
if (result.status !== 0 || !existsSync(built)) {
  console.error(
    `systems/queue: building the native addon failed (exit ${result.status}); it needs a C/C++ toolchain ` +
      '(gcc, g++, make, python3). Fix the error above and run `node systems/queue/install.mjs` again.',
  );
  process.exit(result.status || 1);
}
console.log(`systems/queue: built ${path.relative(root, built)}`);
