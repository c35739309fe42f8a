// MD5 off the event loop. MD5 runs at about 400 MB/s on one core, slower than the rest of an upload
// (SHA-256 with SHA-NI, the writes, the fsync) put together, so a large body's MD5 (the S3-style
// ETag) is computed on one shared worker thread while the main thread receives, hashes SHA-256 and
// writes. Small bodies are hashed inline: a round trip to the worker would cost more than it saves.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  let h = hashes.get(m.id);
  if (!h) hashes.set(m.id, (h = createHash('md5')));
  if (m.data) h.update(m.data);
  if (m.end) {
    hashes.delete(m.id);
    if (!m.drop) parentPort.postMessage({ id: m.id, digest: h.digest() });
  }
});
`;

type Pending = { resolve: (d: Buffer) => void; reject: (e: Error) => void };
let worker: Worker | undefined;
const waiting = new Map<number, Pending>();
let nextId = 1;

function shared(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.unref();
  w.on('message', (m: { id: number; digest: Uint8Array }) => {
    const p = waiting.get(m.id);
    waiting.delete(m.id);
    p?.resolve(Buffer.from(m.digest));
  });
  const fail = (e: Error) => {
    if (worker === w) worker = undefined;
    for (const p of waiting.values()) p.reject(e);
    waiting.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the MD5 worker exited with code ${code}`)));
  worker = w;
  return w;
}

/** Bodies up to this size are hashed inline. */
const INLINE_BYTES = 1 << 20;

/** An incremental MD5 that moves to the worker once the input passes INLINE_BYTES. */
export class Md5 {
  #inline: Hash | undefined = createHash('md5');
  #buffered: Buffer[] = [];
  #bytes = 0;
  #id = 0;
  #worker: Worker | undefined;

  /** `data` must not change afterwards (it is read later, maybe on another thread). */
  update(data: Buffer): void {
    if (this.#worker) {
      this.#worker.postMessage({ id: this.#id, data });
      return;
    }
    this.#buffered.push(data);
    this.#bytes += data.length;
    if (this.#bytes <= INLINE_BYTES) return;
    this.#id = nextId++;
    this.#worker = shared();
    this.#inline = undefined;
    for (const b of this.#buffered.splice(0)) this.#worker.postMessage({ id: this.#id, data: b });
  }

  digest(): Promise<Buffer> {
    if (!this.#worker) {
      const h = this.#inline ?? createHash('md5');
      for (const b of this.#buffered.splice(0)) h.update(b);
      return Promise.resolve(h.digest());
    }
    const w = this.#worker;
    return new Promise((resolve, reject) => {
      waiting.set(this.#id, { resolve, reject });
      w.postMessage({ id: this.#id, end: true });
    });
  }

  /** Forgets the hash (the body was refused). */
  drop(): void {
    this.#worker?.postMessage({ id: this.#id, end: true, drop: true });
    this.#buffered = [];
  }
}
