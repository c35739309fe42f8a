// The one interface both backends implement. Conditional manifest writes are the backend's job
// (compare-and-swap), so that no two writers of one manifest can both win.
import type { Readable } from 'node:stream';
import type { BackendName } from '../config.ts';
import type { SpooledBody } from '../fs-util.ts';
import type { ManifestRef } from '../keys.ts';
import type { Manifest } from '../manifest.ts';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Quoted: `"<md5>"` for a single-part object, `"<md5 of part md5s>-<n>"` for a multipart one. */
  etag: string;
  /** Hex SHA-256 of the whole object, when the backend knows it. */
  sha256: string | undefined;
  contentType: string;
  /** ms since the epoch. */
  lastModified: number;
}

export interface UploadRecord {
  uploadId: string;
  key: string;
  userId: string;
  blockId: string;
  versionId: string;
  fileName: string;
  contentType: string;
  createdAt: number;
  expiresAt: number;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
}

export interface CompletePart {
  partNumber: number;
  etag: string;
}

export interface StoredManifest {
  etag: string;
  manifest: Manifest;
  /** The exact stored bytes (their MD5 is the ETag on fs). */
  bytes: Buffer;
  createdAt: number;
  updatedAt: number;
}

/** Create-only, or compare-and-swap against the current ETag. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export interface LatestPointer {
  versionId: string;
  publishedAt: number;
}

export interface ObjectRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export type RangeSelector = (info: ObjectInfo) => ObjectRange | undefined;

export interface OpenedObject {
  info: ObjectInfo;
  /** The range served; undefined for the whole object. */
  range: ObjectRange | undefined;
  stream: Readable;
}

export interface StorageBackend {
  readonly name: BackendName;
  /** Where request bodies are spooled before the backend takes them (same file system as the data for fs). */
  /** Whether request bodies must be spooled with their MD5 (S3 checks Content-MD5); fs needs none. */
  readonly spoolMd5: boolean;
  readonly spoolDir: string;
  /** Creates what is missing and recovers state left by an earlier process. */
  open(): Promise<void>;
  close(): Promise<void>;

  createUpload(record: UploadRecord): Promise<void>;
  /** Undefined when unknown, completed, aborted or expired. */
  getUpload(uploadId: string): Promise<UploadRecord | undefined>;
  listUploads(): Promise<UploadRecord[]>;
  listParts(uploadId: string): Promise<PartInfo[]>;
  /** Takes ownership of `body` (moves or removes its file). */
  putPart(uploadId: string, partNumber: number, body: SpooledBody): Promise<PartInfo>;
  /** Checks the list (order, ETags, sizes) and publishes the object atomically. */
  completeUpload(uploadId: string, parts: CompletePart[], minPartBytes: number): Promise<ObjectInfo>;
  abortUpload(uploadId: string): Promise<void>;
  /** Removes uploads past their expiry; returns how many. */
  sweepExpiredUploads(now: number): Promise<number>;

  /** Single-part object; takes ownership of `body`. */
  putObject(key: string, body: SpooledBody, contentType: string): Promise<ObjectInfo>;
  headObject(key: string): Promise<ObjectInfo | undefined>;
  /**
   * The object's bytes, or the range `select` picks once it has seen the object's info (it may
   * throw, e.g. 416). Info, range and bytes belong to one version even if the object is replaced
   * meanwhile.
   */
  openObject(key: string, select?: RangeSelector): Promise<OpenedObject | undefined>;
  /** A URL that reads the object without this server (s3: a presigned GET); undefined when not offered. */
  presignGet?(key: string, expiresInS: number): Promise<string>;

  getManifest(ref: ManifestRef): Promise<StoredManifest | undefined>;
  /** Throws STORAGE_PRECONDITION_FAILED when `condition` does not hold at the moment of the write. */
  putManifest(ref: ManifestRef, bytes: Buffer, condition: WriteCondition): Promise<StoredManifest>;
  listManifests(userId: string, blockId: string): Promise<Array<StoredManifest & { versionId: string }>>;
  getLatest(userId: string, blockId: string): Promise<LatestPointer | undefined>;
  setLatest(userId: string, blockId: string, pointer: LatestPointer): Promise<void>;
}
