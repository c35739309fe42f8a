// Backend names -> implementations. `root` is the data dir (fs) or the spool dir (s3).
import path from 'node:path';
import type { BackendName, StorageConfig } from '../config.ts';
import { FsBackend } from './fs-backend.ts';
import { S3Backend } from './s3-backend.ts';
import type { StorageBackend } from './types.ts';

const BACKENDS: Record<BackendName, (config: StorageConfig, root: string) => StorageBackend> = {
  fs: (_config, root) => new FsBackend(root),
  s3: (config, root) => new S3Backend(config, path.join(root, 'tmp')),
};

export function createBackend(config: StorageConfig, root: string): StorageBackend {
  return BACKENDS[config.backend](config, root);
}

export { FsBackend } from './fs-backend.ts';
export { S3Backend } from './s3-backend.ts';
export type * from './types.ts';
