// A thin typed client for every route of the storage service, on Node's fetch. Server errors come
// back as StorageError with the server's code and status; anything else as STORAGE_HTTP_ERROR.
import { isStorageErrorCode, STORAGE_ERRORS, StorageError } from '../errors.ts';
import type { ManifestRef } from '../keys.ts';
import type { Manifest } from '../manifest.ts';
import { readServerSentEvents } from './sse.ts';

export interface StorageClientOptions {
  /** Base URL of the service, e.g. http://127.0.0.1:8300. */
  baseUrl: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Per-request timeout for everything except long-polls and event streams, ms. Default 60000. */
  timeoutMs?: number;
}

export interface ObjectResult {
  key: string;
  etag: string;
  size: number;
  sha256: string | null;
  contentType: string;
  lastModified: string;
  versionId: string;
}

export interface UploadInit {
  uploadId: string;
  key: string;
  versionId: string;
  expiresAt: string;
}

export interface UploadSummary {
  uploadId: string;
  key: string;
  userId: string;
  blockId: string;
  versionId: string;
  fileName: string;
  contentType: string;
  createdAt: string;
  expiresAt: string;
}

export interface ObjectTarget {
  userId: string;
  blockId: string;
  versionId?: string;
  fileName: string;
  contentType?: string;
}

export interface ManifestState {
  etag: string;
  manifest: Manifest;
}

export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export type WatchResult =
  | { changed: true; etag: string; manifest: Manifest }
  | { changed: false; exists: boolean };

export interface ManifestEventData {
  versionId: string;
  etag: string;
  manifest: Manifest;
}

export interface VersionInfo {
  versionId: string;
  etag: string;
  status: string;
  chunkCount: number;
  createdAt: string;
  updatedAt: string;
  latest: boolean;
}

interface Wire {
  [k: string]: unknown;
}

function q(params: Record<string, string | number | boolean | undefined>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) s.set(k, String(v));
  return s.toString();
}

function refQuery(ref: ManifestRef): Record<string, string> {
  return { user_id: ref.userId, block_id: ref.blockId, version_id: ref.versionId };
}

/** Turns an error answer into a StorageError carrying the server's code and status. */
export async function errorFrom(res: Response): Promise<StorageError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = body.error?.code;
    if (isStorageErrorCode(code) && STORAGE_ERRORS[code].status !== 0) {
      return new StorageError(code, String(body.error?.message ?? ''), { status: res.status });
    }
  } catch {
    // not JSON: fall through
  }
  return new StorageError('STORAGE_HTTP_ERROR', `HTTP ${res.status}: ${text.slice(0, 200)}`, {
    status: res.status,
  });
}

function objectResult(w: Wire): ObjectResult {
  return {
    key: String(w.key),
    etag: String(w.etag),
    size: Number(w.size),
    sha256: (w.sha256 as string | null) ?? null,
    contentType: String(w.content_type),
    lastModified: String(w.last_modified),
    versionId: String(w.version_id),
  };
}

function uploadSummary(w: Wire): UploadSummary {
  return {
    uploadId: String(w.upload_id),
    key: String(w.key),
    userId: String(w.user_id),
    blockId: String(w.block_id),
    versionId: String(w.version_id),
    fileName: String(w.file_name),
    contentType: String(w.content_type),
    createdAt: String(w.created_at),
    expiresAt: String(w.expires_at),
  };
}

/** Reads an answer's body; a connection cut mid-body is STORAGE_HTTP_ERROR, like one cut before it. */
async function readBody<T>(res: Response, read: (r: Response) => Promise<T>): Promise<T> {
  try {
    return await read(res);
  } catch (e) {
    throw new StorageError(
      'STORAGE_HTTP_ERROR',
      `reading the answer of ${res.url}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

export class StorageClient {
  readonly baseUrl: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(options: StorageClientOptions | string) {
    const o = typeof options === 'string' ? { baseUrl: options } : options;
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.#headers = o.headers ?? {};
    this.#timeoutMs = o.timeoutMs ?? 60_000;
  }

  /** One request; `timeoutMs: 0` means no timeout of our own (long-polls, streams). */
  async request(
    method: string,
    path: string,
    init: {
      body?: Uint8Array | string;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      timeoutMs?: number;
    } = {},
  ): Promise<Response> {
    const timeoutMs = init.timeoutMs ?? this.#timeoutMs;
    const signals = [init.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...this.#headers, ...init.headers },
        ...(init.body !== undefined ? { body: init.body } : {}),
        ...(signals.length ? { signal: AbortSignal.any(signals) } : {}),
      });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      throw new StorageError('STORAGE_HTTP_ERROR', `${method} ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  async #json(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Wire> {
    const res = await this.request(method, path, {
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
    });
    if (!res.ok) throw await errorFrom(res);
    return (await readBody(res, (r) => r.json())) as Wire;
  }

  async health(): Promise<{ status: string; backend: string; watchers: number }> {
    return (await this.#json('GET', '/health')) as { status: string; backend: string; watchers: number };
  }

  // ---- multipart uploads ----

  async initUpload(t: ObjectTarget): Promise<UploadInit> {
    const w = await this.#json('POST', '/upload/init', {
      user_id: t.userId,
      block_id: t.blockId,
      ...(t.versionId ? { version_id: t.versionId } : {}),
      file_name: t.fileName,
      content_type: t.contentType ?? 'application/octet-stream',
    });
    return {
      uploadId: String(w.upload_id),
      key: String(w.key),
      versionId: String(w.version_id),
      expiresAt: String(w.expires_at),
    };
  }

  async uploadPart(
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
  ): Promise<{ etag: string; partNumber: number; size: number }> {
    const res = await this.request('PUT', `/upload/chunk/${uploadId}/${partNumber}`, {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (!res.ok) throw await errorFrom(res);
    const w = (await readBody(res, (r) => r.json())) as Wire;
    return { etag: String(w.etag), partNumber: Number(w.part_number), size: Number(w.size) };
  }

  async completeUpload(
    uploadId: string,
    parts: Array<{ partNumber: number; etag: string }>,
  ): Promise<ObjectResult> {
    const w = await this.#json('POST', '/upload/complete', {
      upload_id: uploadId,
      parts: parts.map((p) => ({ part_number: p.partNumber, etag: p.etag })),
    });
    return objectResult(w);
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.#json('POST', '/upload/abort', { upload_id: uploadId });
  }

  async listUploads(filter: { userId?: string; blockId?: string } = {}): Promise<UploadSummary[]> {
    const w = await this.#json(
      'GET',
      `/upload/list?${q({ user_id: filter.userId, block_id: filter.blockId })}`,
    );
    return (w.uploads as Wire[]).map(uploadSummary);
  }

  async listParts(uploadId: string): Promise<Array<{ partNumber: number; etag: string; size: number }>> {
    const w = await this.#json('GET', `/upload/parts/${uploadId}`);
    return (w.parts as Wire[]).map((p) => ({
      partNumber: Number(p.part_number),
      etag: String(p.etag),
      size: Number(p.size),
    }));
  }

  /** A single-part object (one request). */
  async putObject(t: ObjectTarget, bytes: Uint8Array): Promise<ObjectResult> {
    const path = `/upload/object?${q({ user_id: t.userId, block_id: t.blockId, version_id: t.versionId, file_name: t.fileName })}`;
    const res = await this.request('PUT', path, {
      body: bytes,
      headers: { 'content-type': t.contentType ?? 'application/octet-stream' },
    });
    if (!res.ok) throw await errorFrom(res);
    return objectResult((await readBody(res, (r) => r.json())) as Wire);
  }

  /**
   * Uploads `bytes` as one object: single-part when it fits in `partSize`, else a multipart upload
   * (parts sent `concurrency` at a time, aborted if any fails).
   */
  async uploadObject(
    t: ObjectTarget,
    bytes: Uint8Array,
    opts: { partSize?: number; concurrency?: number } = {},
  ): Promise<ObjectResult> {
    const partSize = opts.partSize ?? 8 * 1024 * 1024;
    if (bytes.length <= partSize) return this.putObject(t, bytes);
    const init = await this.initUpload(t);
    try {
      const count = Math.ceil(bytes.length / partSize);
      const etags: string[] = new Array(count);
      let nextPart = 0;
      const worker = async () => {
        while (nextPart < count) {
          const i = nextPart++;
          const part = await this.uploadPart(
            init.uploadId,
            i + 1,
            bytes.subarray(i * partSize, (i + 1) * partSize),
          );
          etags[i] = part.etag;
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, count) }, worker));
      return await this.completeUpload(
        init.uploadId,
        etags.map((etag, i) => ({ partNumber: i + 1, etag })),
      );
    } catch (e) {
      await this.abortUpload(init.uploadId).catch(() => undefined);
      throw e;
    }
  }

  // ---- manifests and versions ----

  /** The manifest, undefined when there is none, 'not-modified' when `ifNoneMatch` still matches. */
  async getManifest(
    ref: ManifestRef,
    opts: { ifNoneMatch?: string } = {},
  ): Promise<ManifestState | undefined | 'not-modified'> {
    const res = await this.request('GET', `/upload/manifest?${q(refQuery(ref))}`, {
      headers: opts.ifNoneMatch ? { 'if-none-match': opts.ifNoneMatch } : {},
    });
    if (res.status === 304) return 'not-modified';
    if (res.status === 404) {
      const e = await errorFrom(res);
      if (e.code === 'STORAGE_NOT_FOUND') return undefined;
      throw e;
    }
    if (!res.ok) throw await errorFrom(res);
    return {
      etag: res.headers.get('etag') ?? '',
      manifest: (await readBody(res, (r) => r.json())) as Manifest,
    };
  }

  /** Conditional write; STORAGE_PRECONDITION_FAILED when another writer got there first. */
  async putManifest(
    ref: ManifestRef,
    manifest: Manifest,
    condition: WriteCondition,
  ): Promise<{ etag: string; created: boolean }> {
    const headers: Record<string, string> =
      'ifMatch' in condition ? { 'if-match': condition.ifMatch } : { 'if-none-match': '*' };
    const w = await this.#json('PUT', `/upload/manifest?${q(refQuery(ref))}`, manifest, headers);
    return { etag: String(w.etag), created: Boolean(w.created) };
  }

  async latestVersion(
    userId: string,
    blockId: string,
    opts: { includeManifest?: boolean; ifNoneMatch?: string } = {},
  ): Promise<
    | { versionId: string; etag: string; status: string; manifest?: Manifest; validator: string }
    | 'not-modified'
  > {
    const res = await this.request(
      'GET',
      `/files/latest_version?${q({ user_id: userId, block_id: blockId, include_manifest: opts.includeManifest ?? false })}`,
      { headers: opts.ifNoneMatch ? { 'if-none-match': opts.ifNoneMatch } : {} },
    );
    if (res.status === 304) return 'not-modified';
    if (!res.ok) throw await errorFrom(res);
    const w = (await readBody(res, (r) => r.json())) as Wire;
    return {
      versionId: String(w.version_id),
      etag: String(w.etag),
      status: String(w.status),
      ...(w.manifest ? { manifest: w.manifest as Manifest } : {}),
      validator: res.headers.get('etag') ?? '',
    };
  }

  async versions(
    userId: string,
    blockId: string,
  ): Promise<{ latestVersionId: string | null; versions: VersionInfo[] }> {
    const w = await this.#json('GET', `/files/versions?${q({ user_id: userId, block_id: blockId })}`);
    return {
      latestVersionId: (w.latest_version_id as string | null) ?? null,
      versions: (w.versions as Wire[]).map((v) => ({
        versionId: String(v.version_id),
        etag: String(v.etag),
        status: String(v.status),
        chunkCount: Number(v.chunk_count),
        createdAt: String(v.created_at),
        updatedAt: String(v.updated_at),
        latest: Boolean(v.latest),
      })),
    };
  }

  async publishVersion(ref: ManifestRef): Promise<{ publishedAt: string }> {
    const w = await this.#json('POST', '/files/publish_version', {
      user_id: ref.userId,
      block_id: ref.blockId,
      version_id: ref.versionId,
    });
    return { publishedAt: String(w.published_at) };
  }

  // ---- downloads ----

  async downloadUrl(key: string, expiresIn?: number): Promise<{ url: string; expiresAt: string }> {
    const w = await this.#json('GET', `/download/url?${q({ key, expires_in: expiresIn })}`);
    return { url: String(w.url), expiresAt: String(w.expires_at) };
  }

  /** GETs a signed URL (ours or a presigned S3 one); `range` as in `bytes=0-99`. */
  async fetchUrl(url: string, opts: { range?: string; signal?: AbortSignal } = {}): Promise<Response> {
    try {
      const res = await fetch(url, {
        headers: opts.range ? { range: opts.range } : {},
        signal: opts.signal
          ? AbortSignal.any([opts.signal, AbortSignal.timeout(this.#timeoutMs)])
          : AbortSignal.timeout(this.#timeoutMs),
      });
      if (!res.ok) throw await errorFrom(res);
      return res;
    } catch (e) {
      if (e instanceof StorageError || opts.signal?.aborted) throw e;
      throw new StorageError('STORAGE_HTTP_ERROR', `GET ${url}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The object's bytes (or one range of them). */
  async download(key: string, opts: { range?: string; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const { url } = await this.downloadUrl(key);
    const res = await this.fetchUrl(url, opts);
    return new Uint8Array(await readBody(res, (r) => r.arrayBuffer()));
  }

  // ---- watching ----

  /** Long-poll: resolves when the manifest's ETag differs from `sinceEtag`, or after `timeoutMs`. */
  async watch(
    ref: ManifestRef,
    opts: { sinceEtag?: string; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<WatchResult> {
    const res = await this.request(
      'GET',
      `/files/watch?${q({ ...refQuery(ref), since_etag: opts.sinceEtag, timeout_ms: opts.timeoutMs })}`,
      { timeoutMs: 0, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
    if (res.status === 304) return { changed: false, exists: true };
    if (res.status === 204) return { changed: false, exists: false };
    if (!res.ok) throw await errorFrom(res);
    const w = (await readBody(res, (r) => r.json())) as Wire;
    return { changed: true, etag: String(w.etag), manifest: w.manifest as Manifest };
  }

  /** Every change of the manifest as a server-sent event, until it is completed or failed, or `signal` aborts. */
  async *watchStream(
    ref: ManifestRef,
    opts: { lastEventId?: string; signal?: AbortSignal } = {},
  ): AsyncGenerator<ManifestEventData> {
    const res = await this.request('GET', `/files/watch/stream?${q(refQuery(ref))}`, {
      timeoutMs: 0,
      headers: {
        accept: 'text/event-stream',
        ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}),
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!res.ok) throw await errorFrom(res);
    if (!res.body) return;
    for await (const ev of readServerSentEvents(res.body)) {
      if (ev.event === 'end') return;
      if (ev.event !== 'manifest') continue;
      const w = JSON.parse(ev.data) as Wire;
      yield { versionId: String(w.version_id), etag: String(w.etag), manifest: w.manifest as Manifest };
    }
  }
}
