// What every route handler gets: the resolved config and the parts of the running service.
import type { StorageBackend } from './backends/types.ts';
import type { StorageConfig } from './config.ts';
import type { ManifestService } from './manifest-service.ts';
import type { UrlSigner } from './signer.ts';
import type { WatchHub } from './watch-hub.ts';

export interface StorageContext {
  readonly config: StorageConfig;
  readonly backend: StorageBackend;
  readonly manifests: ManifestService;
  readonly hub: WatchHub;
  readonly signer: UrlSigner;
}

/** Upper bound on what we read (and discard) of an oversize body so that the client gets its 413. */
export function drainLimit(config: StorageConfig): number {
  return Math.max(config.maxPartBytes * 2, 64 * 1024 * 1024);
}
