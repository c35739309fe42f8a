// Public surface of the storage-streaming service: the harness handle, the server, its config and
// errors, the backends, and the client SDK (StorageClient, StreamProducer, StreamConsumer).
import type { SystemHandle } from '../../harness/index.ts';
import type definition from './system.ts';

/** The typed handle suites start the service with: `useSystem(storageSystem, { options })`. */
export const storageSystem: SystemHandle<typeof definition> = { name: 'storage' };

export { createBackend, FsBackend, S3Backend } from './backends/index.ts';
export type {
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
} from './backends/types.ts';
export { readServerSentEvents, type ServerSentEvent } from './client/sse.ts';
export {
  type ManifestEventData,
  type ManifestState,
  type ObjectResult,
  type ObjectTarget,
  StorageClient,
  type StorageClientOptions,
  type UploadInit,
  type UploadSummary,
  type VersionInfo,
  type WatchResult,
} from './client/storage-client.ts';
export { type ConsumedChunk, StreamConsumer, type StreamConsumerOptions } from './client/stream-consumer.ts';
export { type AppendedChunk, StreamProducer, type StreamProducerOptions } from './client/stream-producer.ts';
export {
  BACKEND_CHOICES,
  type BackendName,
  ENV_OVERRIDES,
  envOverrides,
  loadConfig,
  MAX_EXPIRES_IN_S,
  type StorageConfig,
  type StorageConfigInput,
  StorageConfigSchema,
  type StorageOptions,
  StorageOptionsSchema,
} from './config.ts';
export {
  isStorageError,
  isStorageErrorCode,
  STORAGE_ERRORS,
  StorageError,
  type StorageErrorBody,
  type StorageErrorCode,
} from './errors.ts';
export { type KeyParts, type ManifestRef, newVersionId, objectKey, parseKey } from './keys.ts';
export {
  type Chunk,
  ChunkSchema,
  MANIFEST_STATUSES,
  type Manifest,
  ManifestSchema,
  type ManifestStatus,
} from './manifest.ts';
export { type CreateStorageServerOptions, createStorageServer, type StorageServer } from './server.ts';
