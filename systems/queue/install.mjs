// Builds the queue's Node-API addon (systems/queue/native) with node-gyp from node_modules.
// Run by the root postinstall (cwd systems/queue) or directly: `node systems/queue/install.mjs`.
// Uses the local Node headers when they exist (offline build); fails loudly otherwise. Skipped, with
// the reason printed, on every OS but Linux.
// RIG_QUEUE_SANITIZE=1 builds the C core and the addon with AddressSanitizer and UBSan instead
// (README.md, "Sanitizer build"); Node must then preload libasan, as the line printed at the end says.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const root = path.resolve(here, '..', '..');
const native = path.join(here, 'native');
const gypBin = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const built = path.join(native, 'build', 'Release', 'rig_queue.node');

// Off Linux there is nothing to build: the install succeeds, says why, and the queue's API throws
// QUEUE_UNSUPPORTED_PLATFORM (src/platform.ts) where it is first used.
if (process.platform !== 'linux') {
  console.log(
    `systems/queue: skipping the native addon build: the shared-memory queue runs on Linux only (futexes and robust process-shared mutexes in POSIX shared memory); this is ${process.platform}. ` +
      'Queue.create/open throw QUEUE_UNSUPPORTED_PLATFORM here and its tests are skipped with that reason (systems/queue/README.md, "Platforms").',
  );
  process.exit(0);
}
if (!existsSync(gypBin)) {
  console.error(`systems/queue: node-gyp not found at ${gypBin}; install the devDependencies first`);
  process.exit(1);
}

const sanitizeFlag = process.env.RIG_QUEUE_SANITIZE ?? '';
if (!['', '0', '1'].includes(sanitizeFlag)) {
  console.error(
    `systems/queue: RIG_QUEUE_SANITIZE must be 1 (sanitizer build) or 0/unset (normal build); got "${sanitizeFlag}"`,
  );
  process.exit(1);
}
const sanitize = sanitizeFlag === '1';
/** The ASan runtime that Node must preload to load an instrumented addon; undefined when gcc has none. */
function asanRuntime() {
  const r = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const file = r.status === 0 ? r.stdout.trim() : '';
  return path.isAbsolute(file) && existsSync(file) ? file : undefined;
}
const libasan = sanitize ? asanRuntime() : undefined;
if (sanitize && !libasan) {
  console.error(
    'systems/queue: RIG_QUEUE_SANITIZE=1 needs gcc with libasan (`gcc -print-file-name=libasan.so`)',
  );
  process.exit(1);
}

const args = [gypBin, 'rebuild'];
// binding.gyp adds -fsanitize=address,undefined to compile and link when this variable is 1.
if (sanitize) args.push('--rig_queue_sanitize=1');
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
console.log(`systems/queue: built ${path.relative(root, built)}${sanitize ? ' with ASan and UBSan' : ''}`);
if (sanitize) {
  console.log(
    'systems/queue: run Node with the sanitizer runtime preloaded, e.g.\n' +
      `  LD_PRELOAD=${libasan} ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 npx vitest run --project unit systems/queue\n` +
      'and rebuild the normal addon afterwards: node systems/queue/install.mjs',
  );
}
