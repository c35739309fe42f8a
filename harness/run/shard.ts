// `rig run --shard I/N`: one part of a run split across machines, and where its vitest blob report
// goes so that `rig merge` can put the parts back together (harness/run/shards-merge.ts).
import path from 'node:path';
import { RigError } from '../errors.ts';
import { ShardSchema } from './env.ts';

/** Shard `index` of `count`, 1-based, as vitest's `--shard index/count`. */
export interface Shard {
  index: number;
  count: number;
}

/** `I/N` -> `{ index: I, count: N }`; anything else, or I > N, is RIG_USAGE. */
export function parseShard(text: string, source = '--shard'): Shard {
  const parsed = ShardSchema.safeParse(text);
  if (!parsed.success)
    throw new RigError(
      'RIG_USAGE',
      `${source} "${text}" ${parsed.error.issues[0]?.message ?? 'must look like I/N'}: shard I of N`,
    );
  const [index, count] = text.split('/').map(Number) as [number, number];
  return { index, count };
}

/** `{ index: 1, count: 3 }` -> `1/3`. */
export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The folder of a run that holds its vitest blob report. */
export const BLOB_DIR = 'blob';

/** Where a shard's vitest blob report is written: `<runDir>/blob/blob-I-N.json`. */
export function blobFile(runDir: string, shard: Shard): string {
  return path.join(runDir, BLOB_DIR, `blob-${shard.index}-${shard.count}.json`);
}
