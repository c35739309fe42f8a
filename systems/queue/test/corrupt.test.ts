// Corrupted segments: seeded random bytes are written into the header (offsets 0..1023) or the ring
// of real queues (made with messages in them, the ring wrapped), and another process opens and
// exercises each one (fixtures/open-corrupt.ts). Every call must end in a typed QueueError or keep
// the queue's invariants; a signal, an untyped throw or a hang (the watchdog) fails the test and
// names the seed and the corrupted offsets. Replay: RIG_SEED=<seed> npx vitest run <this file>.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { profile, readRigEnv, seededRandom } from '../../../harness/index.ts';
import { QUEUE_ERROR_CODES, Queue, QueueFull } from '../index.ts';
import { type CaseResult, CaseResultSchema, type CorruptPlan } from './corrupt-protocol.ts';
import { useQueues } from './helpers.ts';

const queues = useQueues('corrupt');
const CHILD = path.join(import.meta.dirname, 'fixtures', 'open-corrupt.ts');
const TSX = import.meta.resolve('tsx');
const DATA_OFFSET = 1024;
/** Cases per child process: each costs well under a millisecond, a child's start about a second. */
const BATCH = 250;
const seed = readRigEnv().RIG_SEED ?? Date.now() % 1_000_000;
const dir = mkdtempSync(path.join(tmpdir(), 'rig-queue-corrupt-'));
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The header's fields (layout version 3, README.md), to aim at and to name in a failure. */
const FIELDS: ReadonlyArray<readonly [offset: number, size: number, name: string]> = [
  [0, 8, 'magic'],
  [8, 4, 'version'],
  [12, 4, 'data_offset'],
  [16, 8, 'capacity'],
  [24, 8, 'max_message'],
  [32, 8, 'check'],
  [40, 8, 'created_ns'],
  [48, 4, 'creator_pid'],
  [52, 4, 'closed'],
  [56, 8, 'recoveries'],
  [128, 8, 'tasks_done'],
  [136, 4, 'joined_seq'],
  [140, 4, 'joined_waiters'],
  [256, 40, 'put_lock.mutex'],
  [296, 4, 'put_lock.journal_valid'],
  [304, 32, 'put_lock.journal'],
  [384, 8, 'in.pos'],
  [392, 8, 'in.msgs'],
  [400, 8, 'in.bytes'],
  [408, 8, 'in.high_water'],
  [512, 40, 'get_lock.mutex'],
  [552, 4, 'get_lock.journal_valid'],
  [560, 32, 'get_lock.journal'],
  [640, 8, 'out.pos'],
  [648, 8, 'out.msgs'],
  [656, 8, 'out.bytes'],
  [664, 8, 'out.high_water'],
  [768, 4, 'readable_seq'],
  [772, 4, 'readable_waiters'],
  [896, 4, 'writable_seq'],
  [900, 4, 'writable_waiters'],
];

type Region = 'header' | 'ring' | 'forged';
interface Write {
  offset: number;
  bytes: Buffer;
}
interface Case {
  name: string;
  capacityBytes: number;
  maxMessageBytes: number;
  writes: Write[];
}

function fieldAt(offset: number): string {
  if (offset >= DATA_OFFSET) return `ring+${offset - DATA_OFFSET}`;
  const f = FIELDS.find(([at, size]) => offset >= at && offset < at + size);
  return f ? `${f[2]}+${offset - f[0]}` : 'padding';
}

function describeCase(c: Case): string {
  const writes = c.writes.map((w) => `${w.offset}=${w.bytes.toString('hex')} (${fieldAt(w.offset)})`);
  return `${c.name} (capacity ${c.capacityBytes}, max ${c.maxMessageBytes}): ${writes.join(', ')}`;
}

/** FNV-1a over magic, version, data offset, capacity and max message, each as a u64 (rq_core.c). */
function checkWord(header: Buffer): bigint {
  const parts = Buffer.alloc(40);
  parts.writeBigUInt64LE(header.readBigUInt64LE(0), 0);
  parts.writeBigUInt64LE(BigInt(header.readUInt32LE(8)), 8);
  parts.writeBigUInt64LE(BigInt(header.readUInt32LE(12)), 16);
  parts.writeBigUInt64LE(header.readBigUInt64LE(16), 24);
  parts.writeBigUInt64LE(header.readBigUInt64LE(24), 32);
  let x = 14695981039346656037n;
  for (const b of parts) x = ((x ^ BigInt(b)) * 1099511628211n) & 0xffff_ffff_ffff_ffffn;
  return x;
}

/** A random write: a few random bytes, or an aligned word with a value near the ring's limits. */
function randomWrite(rand: () => number, offset: number, capacity: number): Buffer {
  if (rand() < 0.5)
    return Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => rand() * 256));
  const near = [0, 1, 7, 8, 9, capacity - 8, capacity, capacity + 8, 2 ** 31, 2 ** 32 - 1];
  const base = near[Math.floor(rand() * near.length)]!;
  const value = base + Math.floor(rand() * 3) * 8 - 8;
  const word = Buffer.alloc(offset % 8 === 0 && rand() < 0.5 ? 8 : 4);
  if (word.length === 8) word.writeBigInt64LE(BigInt(value));
  else word.writeUInt32LE(value >>> 0);
  return word;
}

/**
 * Creates a raw queue of random size, moves its start (puts and gets, so that records wrap), fills
 * it partly and closes it; returns the file offsets of the record headers left in the ring.
 */
function prepare(rand: () => number, name: string, capacityBytes: number, maxMessageBytes: number): number[] {
  const q = Queue.create<Buffer>(name, { mode: 'raw', capacityBytes, maxMessageBytes });
  const longest = Math.min(maxMessageBytes, capacityBytes / 2);
  const message = () => Buffer.from(Array.from({ length: Math.floor(rand() * longest) }, () => rand() * 256));
  const recordSize = (m: Buffer) => 8 + Math.ceil(m.byteLength / 8) * 8;
  let pos = 0;
  const live: number[] = [];
  try {
    for (let k = Math.floor(rand() * 6); k > 0; k--) {
      const m = message();
      q.putNowait(m);
      q.getNowait();
      pos += recordSize(m);
    }
    const fill = rand() * capacityBytes;
    for (let used = 0; used < fill; ) {
      const m = message();
      try {
        q.putNowait(m);
      } catch (error) {
        if (error instanceof QueueFull) break;
        throw error;
      }
      live.push(DATA_OFFSET + (pos % capacityBytes));
      pos += recordSize(m);
      used += recordSize(m);
    }
  } finally {
    q.close();
  }
  return live;
}

function makeCase(rand: () => number, region: Region): Case {
  const capacityBytes = 64 + 8 * Math.floor(rand() * 1000);
  const maxMessageBytes = rand() < 0.5 ? capacityBytes - 8 : 1 + Math.floor(rand() * (capacityBytes - 8));
  const name = queues.name();
  const records = prepare(rand, name, capacityBytes, maxMessageBytes);
  const writes: Write[] = [];
  const end = region === 'forged' ? 32 : region === 'ring' ? DATA_OFFSET + capacityBytes : DATA_OFFSET;
  for (let n = 1 + Math.floor(rand() * 3); n > 0; ) {
    let offset: number;
    if (region === 'forged') offset = Math.floor(rand() * 32);
    else if (region === 'ring')
      offset =
        records.length > 0 && rand() < 0.5
          ? records[Math.floor(rand() * records.length)]! + Math.floor(rand() * 8)
          : DATA_OFFSET + Math.floor(rand() * capacityBytes);
    else if (rand() < 0.75) {
      const [at, size] = FIELDS[Math.floor(rand() * FIELDS.length)]!;
      offset = at + Math.floor(rand() * size);
    } else offset = Math.floor(rand() * DATA_OFFSET);
    const bytes = randomWrite(rand, offset, capacityBytes).subarray(0, Math.max(1, end - offset));
    writes.push({ offset, bytes });
    n--;
  }
  const file = Queue.segmentPath(name);
  const fd = openSync(file, 'r+');
  try {
    for (const w of writes) writeSync(fd, w.bytes, 0, w.bytes.length, w.offset);
    if (region === 'forged') {
      // a header that passes its check word: the sizes themselves must be validated
      const header = Buffer.alloc(40);
      readSync(fd, header, 0, 40, 0);
      const check = Buffer.alloc(8);
      check.writeBigUInt64LE(checkWord(header));
      writes.push({ offset: 32, bytes: check });
      writeSync(fd, check, 0, 8, 32);
    }
  } finally {
    closeSync(fd);
  }
  return { name, capacityBytes, maxMessageBytes, writes };
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderr: string;
  results: CaseResult[];
}

/** Runs the child on a batch under a watchdog; reads the result lines it wrote before it ended. */
function runBatch(cases: Case[], label: string, timeoutMs: number): Promise<ChildRun> {
  const planFile = path.join(dir, `${label}.plan.json`);
  const resultsFile = path.join(dir, `${label}.results.jsonl`);
  const plan: CorruptPlan = { names: cases.map((c) => c.name) };
  writeFileSync(planFile, JSON.stringify(plan));
  writeFileSync(resultsFile, '');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, planFile, resultsFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      children.delete(child);
      try {
        const lines = readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean);
        const results = lines.map((l) => CaseResultSchema.parse(JSON.parse(l)));
        resolve({ code, signal, timedOut, stderr, results });
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** What is wrong with one case's result; [] when every call was typed and the invariants held. */
function problems(c: Case, r: CaseResult, region: Region): string[] {
  const out: string[] = [];
  for (const s of r.steps) {
    if (s.untyped !== undefined) out.push(`${s.op} threw an untyped error: ${s.untyped.split('\n')[0]}`);
    else if (!s.ok && !(s.code !== undefined && s.code in QUEUE_ERROR_CODES))
      out.push(`${s.op}: code ${s.code}`);
  }
  if (r.capacityBytes === undefined || r.maxMessageBytes === undefined) return out;
  const cap = r.capacityBytes;
  const max = r.maxMessageBytes;
  if (region !== 'forged' && (cap !== c.capacityBytes || max !== c.maxMessageBytes))
    out.push(`opened with capacity ${cap} and max ${max}: the header check missed a change`);
  const longest = Math.max(0, ...r.lengths);
  if (longest > max) out.push(`returned a message of ${longest} B > maxMessageBytes ${max}`);
  if (!r.drainBounded)
    out.push(`the drain returned ${r.lengths.length} messages, more than a ring of ${cap} B holds`);
  for (const s of r.stats) {
    const countOk = s.count <= cap / 8;
    if (s.capacity !== cap || !countOk || s.usedBytes > cap)
      out.push(`stats out of bounds: ${JSON.stringify(s)} (capacity ${cap})`);
  }
  for (const n of r.qsize) if (n > cap / 8) out.push(`qsize ${n} > ${cap / 8}`);
  if (r.roundTrip === 'different') out.push('a probe put after the drain came back different');
  return out;
}

async function fuzz(region: Region, total: number): Promise<void> {
  const rand = seededRandom(seed + ['header', 'ring', 'forged'].indexOf(region) * 1_000_003);
  const failures: string[] = [];
  for (let start = 0; start < total && failures.length === 0; start += BATCH) {
    const cases = Array.from({ length: Math.min(BATCH, total - start) }, () => makeCase(rand, region));
    const run = await runBatch(cases, `${region}-${start}`, 30_000 + cases.length * 100);
    for (const r of run.results) {
      const c = cases[r.i]!;
      for (const p of problems(c, r, region)) failures.push(`case ${start + r.i} ${describeCase(c)}: ${p}`);
    }
    if (run.code !== 0 || run.results.length < cases.length) {
      const at = cases[run.results.length];
      const how = run.timedOut ? 'hung (watchdog)' : `exited with code ${run.code}, signal ${run.signal}`;
      const where = at ? `in case ${start + run.results.length} ${describeCase(at)}` : 'after its last case';
      failures.push(`the child ${how} ${where}; stderr: ${run.stderr}`);
    }
    for (const c of cases) Queue.unlink(c.name);
  }
  expect(
    failures,
    `seed ${seed} (replay: RIG_SEED=${seed} RIG_PROFILE=${profile().name}), ${region}:\n${failures.slice(0, 20).join('\n')}`,
  ).toEqual([]);
}

describe('corrupted segments: typed errors or a working queue, never a crash or a hang', () => {
  it(`random bytes in the header (${profile().count(150)} segments)`, async () => {
    await fuzz('header', profile().count(150));
  });

  it(`random bytes in the ring, on record headers and payloads (${profile().count(150)} segments)`, async () => {
    await fuzz('ring', profile().count(150));
  });

  it(`forged sizes that pass the header's check word (${profile().count(50)} segments)`, async () => {
    await fuzz('forged', profile().count(50));
  });
});
