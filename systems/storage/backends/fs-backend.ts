// The embedded backend: everything under one root directory, every publication atomic and durable.
//
//   objects/<user>/<block>/<version>/<file>/meta.json   the committed state (points at one blob)
//   objects/<user>/<block>/<version>/<file>/blob-<id>   object bytes, immutable once written
//   manifests/<user>/<block>/<version>.json             { etag, created_at, updated_at, manifest }
//   pointers/<user>/<block>.json                        the published ("latest") version
//   uploads/<upload id>/upload.json, part-<nnnnn>-<md5> an upload in progress and its parts
//   tmp/                                                spooled request bodies
//
// A write goes to a temp file that is fsynced, renamed into place, and its directory fsynced, so a
// reader or a crash sees the old state or the new one. An object's blob is immutable: replacing it
// writes a new blob and then swaps meta.json, so a reader that opened the old blob keeps reading it.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StorageError } from '../errors.ts';
import { renameDurable, type SpooledBody, TEMP_MARKER, writeFileAtomic } from '../fs-util.ts';
import { digestEtag, md5Etag, multipartEtag } from '../http.ts';
import { KeyedMutex } from '../keyed-mutex.ts';
import { type ManifestRef, parseKey, refKey } from '../keys.ts';
import { type Manifest, parseManifest } from '../manifest.ts';
import { checkCompleteParts, checkPartNumber } from './parts.ts';
import type {
  CompletePart,
  LatestPointer,
  ObjectInfo,
  ObjectRange,
  OpenedObject,
  PartInfo,
  RangeSelector,
  StorageBackend,
  StoredManifest,
  UploadRecord,
  WriteCondition,
} from './types.ts';

interface ObjectMeta {
  key: string;
  blob: string;
  size: number;
  etag: string;
  sha256: string;
  content_type: string;
  last_modified: number;
}

interface ManifestFile {
  etag: string;
  created_at: number;
  updated_at: number;
  manifest: Manifest;
}

const PART_FILE = /^part-(\d{5})-([0-9a-f]{32})$/;
const LOCK_FILE = 'LOCK';
/** Roots opened by this process. */
const OPEN_ROOTS = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

function toInfo(m: ObjectMeta): ObjectInfo {
  return {
    key: m.key,
    size: m.size,
    etag: m.etag,
    sha256: m.sha256,
    contentType: m.content_type,
    lastModified: m.last_modified,
  };
}

export class FsBackend implements StorageBackend {
  readonly name = 'fs' as const;
  readonly spoolDir: string;
  readonly spoolMd5 = false;
  readonly #root: string;
  /** Serialises writers of one object, one manifest, one upload. */
  readonly #locks = new KeyedMutex();

  constructor(root: string) {
    this.#root = path.resolve(root);
    this.spoolDir = path.join(this.#root, 'tmp');
  }

  #dir(...parts: string[]): string {
    return path.join(this.#root, ...parts);
  }

  #objectDir(key: string): string {
    const p = parseKey(key);
    return this.#dir('objects', p.userId, p.blockId, p.versionId, p.fileName);
  }

  #manifestFile(ref: ManifestRef): string {
    return this.#dir('manifests', ref.userId, ref.blockId, `${ref.versionId}.json`);
  }

  async open(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
    await this.#lock();
    for (const d of ['objects', 'manifests', 'pointers', 'uploads']) {
      await mkdir(this.#dir(d), { recursive: true });
    }
    // Spooled bodies of an earlier process were never acknowledged.
    await rm(this.spoolDir, { recursive: true, force: true });
    await mkdir(this.spoolDir, { recursive: true });
    await this.#recover(this.#dir('objects'));
    await this.#recover(this.#dir('manifests'));
    await this.#recover(this.#dir('pointers'));
    await this.#recoverUploads();
    await this.sweepExpiredUploads(Date.now());
  }

  async close(): Promise<void> {
    if (!OPEN_ROOTS.has(this.#root)) return;
    OPEN_ROOTS.delete(this.#root);
    await rm(this.#dir(LOCK_FILE), { force: true });
  }

  /**
   * One server per root: the locks that serialise writers live in its memory. The lock file names
   * the holder's pid; one left by a process that is gone is taken over.
   */
  async #lock(): Promise<void> {
    const file = this.#dir(LOCK_FILE);
    if (OPEN_ROOTS.has(this.#root)) {
      throw new StorageError('STORAGE_BACKEND_FAILED', `root ${this.#root} is already open in this process`);
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new StorageError(
        'STORAGE_BACKEND_FAILED',
        `root ${this.#root} is in use by process ${holder} (${file}); one server per root`,
      );
    }
    await writeFileAtomic(file, String(process.pid));
    OPEN_ROOTS.add(this.#root);
  }

  /** Removes temp files, and blobs no meta.json points at (a crash between the two renames). */
  async #recover(dir: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    const meta = entries.some((e) => e.isFile() && e.name === 'meta.json')
      ? await readJson<ObjectMeta>(path.join(dir, 'meta.json'))
      : undefined;
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await this.#recover(full);
      else if (e.name.startsWith(TEMP_MARKER)) await rm(full, { force: true });
      else if (e.name.startsWith('blob-') && e.name !== meta?.blob) await rm(full, { force: true });
    }
  }

  async #recoverUploads(): Promise<void> {
    const dir = this.#dir('uploads');
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (!e.isDirectory() || !(await readJson<UploadRecord>(path.join(full, 'upload.json')))) {
        await rm(full, { recursive: true, force: true });
        continue;
      }
      for (const f of await readdir(full)) {
        if (f.startsWith(TEMP_MARKER)) await rm(path.join(full, f), { force: true });
      }
    }
  }

  // ---- uploads ----

  async createUpload(record: UploadRecord): Promise<void> {
    await writeFileAtomic(this.#dir('uploads', record.uploadId, 'upload.json'), JSON.stringify(record));
  }

  async getUpload(uploadId: string): Promise<UploadRecord | undefined> {
    const rec = await readJson<UploadRecord>(this.#dir('uploads', uploadId, 'upload.json'));
    return rec && rec.expiresAt > Date.now() ? rec : undefined;
  }

  async #requireUpload(uploadId: string): Promise<UploadRecord> {
    const rec = await this.getUpload(uploadId);
    if (!rec) {
      throw new StorageError(
        'STORAGE_NO_SUCH_UPLOAD',
        `no upload ${uploadId} (completed, aborted or expired?)`,
      );
    }
    return rec;
  }

  async listUploads(): Promise<UploadRecord[]> {
    const out: UploadRecord[] = [];
    for (const id of await readdir(this.#dir('uploads'))) {
      const rec = await this.getUpload(id);
      if (rec) out.push(rec);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async #parts(uploadId: string): Promise<Array<PartInfo & { file: string }>> {
    const dir = this.#dir('uploads', uploadId);
    const parts: Array<PartInfo & { file: string }> = [];
    for (const f of await readdir(dir)) {
      const m = PART_FILE.exec(f);
      if (!m) continue;
      const file = path.join(dir, f);
      parts.push({ partNumber: Number(m[1]), etag: `"${m[2]}"`, size: (await stat(file)).size, file });
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async listParts(uploadId: string): Promise<PartInfo[]> {
    await this.#requireUpload(uploadId);
    return (await this.#parts(uploadId)).map(({ file: _file, ...p }) => p);
  }

  async putPart(uploadId: string, partNumber: number, body: SpooledBody): Promise<PartInfo> {
    checkPartNumber(partNumber);
    try {
      return await this.#locks.run(`upload:${uploadId}`, async () => {
        await this.#requireUpload(uploadId);
        const dir = this.#dir('uploads', uploadId);
        const prefix = `part-${String(partNumber).padStart(5, '0')}-`;
        const name = `${prefix}${body.etagDigest.toString('hex')}`;
        // The ETag is in the file name, so one rename publishes the part and its ETag together.
        await renameDurable(body.path, path.join(dir, name));
        for (const f of await readdir(dir)) {
          if (f.startsWith(prefix) && f !== name) await rm(path.join(dir, f), { force: true });
        }
        return { partNumber, etag: digestEtag(body.etagDigest), size: body.size };
      });
    } finally {
      await rm(body.path, { force: true });
    }
  }

  async completeUpload(uploadId: string, parts: CompletePart[], minPartBytes: number): Promise<ObjectInfo> {
    return this.#locks.run(`upload:${uploadId}`, async () => {
      const rec = await this.#requireUpload(uploadId);
      const stored = await this.#parts(uploadId);
      const chosen = checkCompleteParts(parts, stored, minPartBytes);
      const files = new Map(stored.map((p) => [p.partNumber, p.file]));
      // Concatenate into a spool file, hashing the whole object on the way.
      const tmp = path.join(this.spoolDir, `${TEMP_MARKER}assemble-${randomBytes(8).toString('hex')}`);
      const sha = createHash('sha256');
      let size = 0;
      const fh = await open(tmp, 'wx');
      try {
        for (const p of chosen) {
          for await (const chunk of createReadStream(files.get(p.partNumber) as string, {
            highWaterMark: 1 << 20,
          })) {
            const buf = chunk as Buffer;
            sha.update(buf);
            await fh.write(buf);
            size += buf.length;
          }
        }
        await fh.sync();
      } catch (e) {
        await fh.close().catch(() => undefined);
        await rm(tmp, { force: true });
        throw e;
      }
      await fh.close();
      const etag = multipartEtag(chosen.map((p) => Buffer.from(p.etag.slice(1, -1), 'hex')));
      const info = await this.#commitObject(rec.key, tmp, {
        size,
        etag,
        sha256: sha.digest('hex'),
        contentType: rec.contentType,
      });
      await rm(this.#dir('uploads', uploadId), { recursive: true, force: true });
      return info;
    });
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.#locks.run(`upload:${uploadId}`, async () => {
      await this.#requireUpload(uploadId);
      await rm(this.#dir('uploads', uploadId), { recursive: true, force: true });
    });
  }

  async sweepExpiredUploads(now: number): Promise<number> {
    let removed = 0;
    for (const id of await readdir(this.#dir('uploads'))) {
      const rec = await readJson<UploadRecord>(this.#dir('uploads', id, 'upload.json'));
      if (rec && rec.expiresAt <= now) {
        await this.#locks.run(`upload:${id}`, () =>
          rm(this.#dir('uploads', id), { recursive: true, force: true }),
        );
        removed++;
      }
    }
    return removed;
  }

  // ---- objects ----

  /** Moves the fsynced file `src` in as the object's new blob, then swaps meta.json. */
  async #commitObject(
    key: string,
    src: string,
    o: { size: number; etag: string; sha256: string; contentType: string },
  ): Promise<ObjectInfo> {
    const dir = this.#objectDir(key);
    return this.#locks.run(`object:${key}`, async () => {
      const blob = `blob-${randomBytes(8).toString('hex')}`;
      try {
        await renameDurable(src, path.join(dir, blob));
      } catch (e) {
        await rm(src, { force: true });
        throw e;
      }
      const meta: ObjectMeta = {
        key,
        blob,
        size: o.size,
        etag: o.etag,
        sha256: o.sha256,
        content_type: o.contentType,
        last_modified: Date.now(),
      };
      await writeFileAtomic(path.join(dir, 'meta.json'), JSON.stringify(meta));
      for (const f of await readdir(dir)) {
        if (f.startsWith('blob-') && f !== blob) await rm(path.join(dir, f), { force: true });
      }
      return toInfo(meta);
    });
  }

  async putObject(key: string, body: SpooledBody, contentType: string): Promise<ObjectInfo> {
    return this.#commitObject(key, body.path, {
      size: body.size,
      etag: digestEtag(body.etagDigest),
      sha256: body.sha256,
      contentType,
    });
  }

  async headObject(key: string): Promise<ObjectInfo | undefined> {
    const meta = await readJson<ObjectMeta>(path.join(this.#objectDir(key), 'meta.json'));
    return meta && toInfo(meta);
  }

  async openObject(key: string, select?: RangeSelector): Promise<OpenedObject | undefined> {
    const dir = this.#objectDir(key);
    // A concurrent replace may remove the blob between reading meta.json and opening it: re-read.
    for (let attempt = 0; attempt < 5; attempt++) {
      const meta = await readJson<ObjectMeta>(path.join(dir, 'meta.json'));
      if (!meta) return undefined;
      let fh: FileHandle;
      try {
        fh = await open(path.join(dir, meta.blob), 'r');
      } catch (e) {
        if (isMissing(e)) continue;
        throw e;
      }
      const info = toInfo(meta);
      let range: ObjectRange | undefined;
      try {
        range = select?.(info);
      } catch (e) {
        await fh.close();
        throw e;
      }
      if (meta.size === 0) {
        await fh.close();
        return { info, range, stream: Readable.from([]) };
      }
      const stream = fh.createReadStream({ start: range?.start ?? 0, end: range?.end ?? meta.size - 1 });
      return { info, range, stream };
    }
    throw new StorageError('STORAGE_BACKEND_FAILED', `object ${key} kept changing while it was opened`);
  }

  // ---- manifests ----

  async #readManifest(ref: ManifestRef): Promise<StoredManifest | undefined> {
    const file = await readJson<ManifestFile>(this.#manifestFile(ref));
    if (!file) return undefined;
    const manifest = parseManifest(file.manifest);
    return {
      etag: file.etag,
      manifest,
      bytes: Buffer.from(JSON.stringify(file.manifest)),
      createdAt: file.created_at,
      updatedAt: file.updated_at,
    };
  }

  getManifest(ref: ManifestRef): Promise<StoredManifest | undefined> {
    return this.#readManifest(ref);
  }

  putManifest(ref: ManifestRef, bytes: Buffer, condition: WriteCondition): Promise<StoredManifest> {
    return this.#locks.run(`manifest:${refKey(ref)}`, async () => {
      const current = await this.#readManifest(ref);
      if ('ifNoneMatch' in condition && current) {
        throw new StorageError('STORAGE_PRECONDITION_FAILED', `manifest ${refKey(ref)} already exists`);
      }
      if ('ifMatch' in condition && current?.etag !== condition.ifMatch) {
        throw new StorageError(
          'STORAGE_PRECONDITION_FAILED',
          current
            ? `manifest ${refKey(ref)} is at ${current.etag}, not ${condition.ifMatch}`
            : `manifest ${refKey(ref)} does not exist`,
        );
      }
      const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
      const now = Date.now();
      const file: ManifestFile = {
        etag: md5Etag(createHash('md5').update(bytes).digest()),
        created_at: current?.createdAt ?? now,
        updated_at: now,
        manifest,
      };
      await writeFileAtomic(this.#manifestFile(ref), JSON.stringify(file));
      return { etag: file.etag, manifest, bytes, createdAt: file.created_at, updatedAt: now };
    });
  }

  async listManifests(userId: string, blockId: string) {
    let names: string[];
    try {
      names = await readdir(this.#dir('manifests', userId, blockId));
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
    const out: Array<StoredManifest & { versionId: string }> = [];
    for (const n of names) {
      if (!n.endsWith('.json') || n.startsWith(TEMP_MARKER)) continue;
      const versionId = n.slice(0, -'.json'.length);
      const m = await this.#readManifest({ userId, blockId, versionId });
      if (m) out.push({ ...m, versionId });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.versionId.localeCompare(b.versionId));
  }

  async getLatest(userId: string, blockId: string): Promise<LatestPointer | undefined> {
    return readJson<LatestPointer>(this.#dir('pointers', userId, `${blockId}.json`));
  }

  async setLatest(userId: string, blockId: string, pointer: LatestPointer): Promise<void> {
    await this.#locks.run(`pointer:${userId}/${blockId}`, () =>
      writeFileAtomic(this.#dir('pointers', userId, `${blockId}.json`), JSON.stringify(pointer)),
    );
  }
}
