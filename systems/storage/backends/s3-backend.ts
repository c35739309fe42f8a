// The S3 backend (AWS S3, MinIO, any S3-compatible store) on @aws-sdk/client-s3:
//
//   <prefix>objects/<key>                          object bytes (real multipart uploads)
//   <prefix>manifests/<user>/<block>/<version>.json manifests, written with conditional PutObject
//   <prefix>pointers/<user>/<block>.json            the published ("latest") version
//   <prefix>uploads/<upload id>.json                our upload record -> S3's UploadId
//
// Compare-and-swap is S3's own: PutObject with IfNoneMatch: '*' (create) or IfMatch: <etag>; the
// loser of a race gets 412 (or 409 ConditionalRequestConflict), which we report as a failed
// precondition so that the writer re-reads and retries.
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { StorageConfig } from '../config.ts';
import { StorageError } from '../errors.ts';
import type { SpooledBody } from '../fs-util.ts';
import { normalizeEtag } from '../http.ts';
import { type ManifestRef, refKey } from '../keys.ts';
import { parseManifest } from '../manifest.ts';
import { checkCompleteParts, checkPartNumber } from './parts.ts';
import type {
  CompletePart,
  LatestPointer,
  ObjectInfo,
  OpenedObject,
  PartInfo,
  RangeSelector,
  StorageBackend,
  StoredManifest,
  UploadRecord,
  WriteCondition,
} from './types.ts';

interface S3UploadRecord extends UploadRecord {
  s3UploadId: string;
}

function status(e: unknown): number | undefined {
  return e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
}

function isNotFound(e: unknown): boolean {
  return status(e) === 404 || (e as Error).name === 'NoSuchKey' || (e as Error).name === 'NotFound';
}

function backendError(what: string, e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  return new StorageError(
    'STORAGE_BACKEND_FAILED',
    `s3 ${what}: ${(e as Error).name}: ${(e as Error).message}`,
    {
      cause: e,
    },
  );
}

export class S3Backend implements StorageBackend {
  readonly name = 's3' as const;
  readonly spoolDir: string;
  readonly spoolMd5 = true;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #createBucket: boolean;

  constructor(config: StorageConfig, spoolDir: string) {
    const s3 = config.s3;
    if (!s3.bucket)
      throw new StorageError('STORAGE_CONFIG_INVALID', 'storage.s3.bucket is required for backend s3');
    this.#bucket = s3.bucket;
    this.#prefix = s3.prefix;
    this.#createBucket = s3.createBucket;
    this.spoolDir = spoolDir;
    this.#client = new S3Client({
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.accessKeyId && s3.secretAccessKey
        ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
        : {}),
    });
  }

  #key(...parts: string[]): string {
    return this.#prefix + parts.join('/');
  }

  #objectKey(key: string): string {
    return this.#key('objects', key);
  }

  #manifestKey(ref: ManifestRef): string {
    return this.#key('manifests', ref.userId, ref.blockId, `${ref.versionId}.json`);
  }

  async open(): Promise<void> {
    await mkdir(this.spoolDir, { recursive: true });
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (e) {
      if (!isNotFound(e) || !this.#createBucket) throw backendError(`bucket ${this.#bucket}`, e);
      await this.#client.send(new CreateBucketCommand({ Bucket: this.#bucket }));
    }
    await this.sweepExpiredUploads(Date.now());
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #getJson<T>(
    key: string,
  ): Promise<{ value: T; etag: string; metadata: Record<string, string> } | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      return { value: JSON.parse(text) as T, etag: out.ETag ?? '', metadata: out.Metadata ?? {} };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw backendError(`get ${key}`, e);
    }
  }

  async #listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  // ---- uploads ----

  async createUpload(record: UploadRecord): Promise<void> {
    try {
      const out = await this.#client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(record.key),
          ContentType: record.contentType,
        }),
      );
      const full: S3UploadRecord = { ...record, s3UploadId: out.UploadId ?? '' };
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key('uploads', `${record.uploadId}.json`),
          Body: JSON.stringify(full),
          ContentType: 'application/json',
        }),
      );
    } catch (e) {
      throw backendError('create upload', e);
    }
  }

  async #record(uploadId: string): Promise<S3UploadRecord | undefined> {
    const got = await this.#getJson<S3UploadRecord>(this.#key('uploads', `${uploadId}.json`));
    return got && got.value.expiresAt > Date.now() ? got.value : undefined;
  }

  async #requireRecord(uploadId: string): Promise<S3UploadRecord> {
    const rec = await this.#record(uploadId);
    if (!rec) {
      throw new StorageError(
        'STORAGE_NO_SUCH_UPLOAD',
        `no upload ${uploadId} (completed, aborted or expired?)`,
      );
    }
    return rec;
  }

  async getUpload(uploadId: string): Promise<UploadRecord | undefined> {
    const rec = await this.#record(uploadId);
    if (!rec) return undefined;
    const { s3UploadId: _s3, ...plain } = rec;
    return plain;
  }

  async listUploads(): Promise<UploadRecord[]> {
    const out: UploadRecord[] = [];
    for (const k of await this.#listKeys(this.#key('uploads', ''))) {
      const id = k.slice(k.lastIndexOf('/') + 1).replace(/\.json$/, '');
      const rec = await this.getUpload(id);
      if (rec) out.push(rec);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async #s3Parts(rec: S3UploadRecord): Promise<PartInfo[]> {
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ListPartsCommand({
            Bucket: this.#bucket,
            Key: this.#objectKey(rec.key),
            UploadId: rec.s3UploadId,
            PartNumberMarker: marker,
          }),
        );
        for (const p of out.Parts ?? []) {
          parts.push({ partNumber: p.PartNumber ?? 0, etag: normalizeEtag(p.ETag ?? ''), size: p.Size ?? 0 });
        }
        marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (e) {
      if (isNotFound(e)) throw new StorageError('STORAGE_NO_SUCH_UPLOAD', `no upload ${rec.uploadId} in S3`);
      throw backendError('list parts', e);
    }
    return parts;
  }

  async listParts(uploadId: string): Promise<PartInfo[]> {
    return this.#s3Parts(await this.#requireRecord(uploadId));
  }

  async putPart(uploadId: string, partNumber: number, body: SpooledBody): Promise<PartInfo> {
    try {
      checkPartNumber(partNumber);
      const rec = await this.#requireRecord(uploadId);
      const out = await this.#client.send(
        new UploadPartCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(rec.key),
          UploadId: rec.s3UploadId,
          PartNumber: partNumber,
          Body: createReadStream(body.path),
          ContentLength: body.size,
          ContentMD5: contentMd5(body),
        }),
      );
      return { partNumber, etag: normalizeEtag(out.ETag ?? ''), size: body.size };
    } catch (e) {
      if (isNotFound(e)) throw new StorageError('STORAGE_NO_SUCH_UPLOAD', `no upload ${uploadId} in S3`);
      throw backendError('upload part', e);
    } finally {
      await rm(body.path, { force: true });
    }
  }

  async completeUpload(uploadId: string, parts: CompletePart[], minPartBytes: number): Promise<ObjectInfo> {
    const rec = await this.#requireRecord(uploadId);
    const chosen = checkCompleteParts(parts, await this.#s3Parts(rec), minPartBytes);
    try {
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(rec.key),
          UploadId: rec.s3UploadId,
          MultipartUpload: { Parts: chosen.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'EntityTooSmall') throw new StorageError('STORAGE_PART_TOO_SMALL', (e as Error).message);
      if (name === 'InvalidPart') throw new StorageError('STORAGE_INVALID_PART', (e as Error).message);
      if (name === 'InvalidPartOrder')
        throw new StorageError('STORAGE_INVALID_PART_ORDER', (e as Error).message);
      if (name === 'NoSuchUpload') throw new StorageError('STORAGE_NO_SUCH_UPLOAD', (e as Error).message);
      throw backendError('complete upload', e);
    }
    await this.#deleteKey(this.#key('uploads', `${uploadId}.json`));
    const info = await this.headObject(rec.key);
    if (!info)
      throw new StorageError('STORAGE_BACKEND_FAILED', `s3 lost ${rec.key} right after completing it`);
    return info;
  }

  async #deleteKey(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (e) {
      if (!isNotFound(e)) throw backendError(`delete ${key}`, e);
    }
  }

  async #abort(rec: S3UploadRecord): Promise<void> {
    try {
      await this.#client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(rec.key),
          UploadId: rec.s3UploadId,
        }),
      );
    } catch (e) {
      if (!isNotFound(e)) throw backendError('abort upload', e);
    }
    await this.#deleteKey(this.#key('uploads', `${rec.uploadId}.json`));
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.#abort(await this.#requireRecord(uploadId));
  }

  async sweepExpiredUploads(now: number): Promise<number> {
    let removed = 0;
    for (const k of await this.#listKeys(this.#key('uploads', ''))) {
      const got = await this.#getJson<S3UploadRecord>(k);
      if (got && got.value.expiresAt <= now) {
        await this.#abort(got.value);
        removed++;
      }
    }
    return removed;
  }

  // ---- objects ----

  async putObject(key: string, body: SpooledBody, contentType: string): Promise<ObjectInfo> {
    try {
      const out = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(key),
          Body: createReadStream(body.path),
          ContentLength: body.size,
          ContentMD5: contentMd5(body),
          ContentType: contentType,
          Metadata: { sha256: body.sha256 },
        }),
      );
      return {
        key,
        size: body.size,
        etag: normalizeEtag(out.ETag ?? ''),
        sha256: body.sha256,
        contentType,
        lastModified: Date.now(),
      };
    } catch (e) {
      throw backendError(`put ${key}`, e);
    } finally {
      await rm(body.path, { force: true });
    }
  }

  async headObject(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }),
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: normalizeEtag(out.ETag ?? ''),
        sha256: out.Metadata?.sha256,
        contentType: out.ContentType ?? 'application/octet-stream',
        lastModified: out.LastModified?.getTime() ?? 0,
      };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw backendError(`head ${key}`, e);
    }
  }

  async openObject(key: string, select?: RangeSelector): Promise<OpenedObject | undefined> {
    // Head, pick the range, then GET that range only if the object is still the version we saw.
    for (let attempt = 0; attempt < 5; attempt++) {
      const info = await this.headObject(key);
      if (!info) return undefined;
      const range = select?.(info);
      try {
        const out = await this.#client.send(
          new GetObjectCommand({
            Bucket: this.#bucket,
            Key: this.#objectKey(key),
            IfMatch: info.etag,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
        return { info, range, stream: out.Body as Readable };
      } catch (e) {
        if (status(e) === 412) continue;
        if (isNotFound(e)) return undefined;
        throw backendError(`get ${key}`, e);
      }
    }
    throw new StorageError('STORAGE_BACKEND_FAILED', `object ${key} kept changing while it was opened`);
  }

  presignGet(key: string, expiresInS: number): Promise<string> {
    return getSignedUrl(
      this.#client,
      new GetObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }),
      {
        expiresIn: expiresInS,
      },
    );
  }

  // ---- manifests ----

  async getManifest(ref: ManifestRef): Promise<StoredManifest | undefined> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#manifestKey(ref) }),
      );
      const bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
      const manifest = parseManifest(JSON.parse(bytes.toString('utf8')));
      const updatedAt = out.LastModified?.getTime() ?? 0;
      const createdAt = Number(out.Metadata?.['created-at'] ?? updatedAt);
      return { etag: normalizeEtag(out.ETag ?? ''), manifest, bytes, createdAt, updatedAt };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw backendError(`get manifest ${refKey(ref)}`, e);
    }
  }

  async putManifest(ref: ManifestRef, bytes: Buffer, condition: WriteCondition): Promise<StoredManifest> {
    const now = Date.now();
    // created-at travels in the metadata; an update carries forward what the create wrote.
    const createdAt = 'ifMatch' in condition ? ((await this.getManifest(ref))?.createdAt ?? now) : now;
    try {
      const out = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#manifestKey(ref),
          Body: bytes,
          ContentType: 'application/json',
          Metadata: { 'created-at': String(createdAt) },
          ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' }),
        }),
      );
      const manifest = parseManifest(JSON.parse(bytes.toString('utf8')));
      return { etag: normalizeEtag(out.ETag ?? ''), manifest, bytes, createdAt, updatedAt: now };
    } catch (e) {
      const code = status(e);
      // 412: the condition is false; 409: a conflicting write landed meanwhile; 404: If-Match on a
      // key that does not exist (S3's answer where RFC 9110 says 412).
      if (code === 412 || code === 409 || (code === 404 && 'ifMatch' in condition)) {
        throw new StorageError(
          'STORAGE_PRECONDITION_FAILED',
          `manifest ${refKey(ref)} changed meanwhile (S3 ${code})`,
        );
      }
      throw backendError(`put manifest ${refKey(ref)}`, e);
    }
  }

  async listManifests(userId: string, blockId: string) {
    const prefix = this.#key('manifests', userId, blockId, '');
    const out: Array<StoredManifest & { versionId: string }> = [];
    for (const k of await this.#listKeys(prefix)) {
      const rest = k.slice(prefix.length);
      if (rest.includes('/') || !rest.endsWith('.json')) continue;
      const versionId = rest.slice(0, -'.json'.length);
      const m = await this.getManifest({ userId, blockId, versionId });
      if (m) out.push({ ...m, versionId });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.versionId.localeCompare(b.versionId));
  }

  async getLatest(userId: string, blockId: string): Promise<LatestPointer | undefined> {
    return (await this.#getJson<LatestPointer>(this.#key('pointers', userId, `${blockId}.json`)))?.value;
  }

  async setLatest(userId: string, blockId: string, pointer: LatestPointer): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key('pointers', userId, `${blockId}.json`),
          Body: JSON.stringify(pointer),
          ContentType: 'application/json',
        }),
      );
    } catch (e) {
      throw backendError('set latest', e);
    }
  }
}

/** Content-MD5 of a spooled body (this backend spools with MD5: spoolMd5). */
function contentMd5(body: SpooledBody): string {
  if (!body.md5) throw new Error('a body for the s3 backend was spooled without its MD5');
  return body.md5.toString('base64');
}
