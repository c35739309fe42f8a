// Instruction-count workloads of the storage service (suites/instructions/storage.instructions.test.ts):
// manifest writes handled in process through fastify's inject() (query and body validation, the
// per-manifest lock, the conditional-write check, the fs backend's durable write, the reply). No
// socket: the service's own work. Each call writes a fresh manifest (create with If-None-Match: *,
// then one append with If-Match), so every call costs the same: an append-only manifest that kept
// growing would make each update dearer than the last.
import { operation } from '../../../harness/index.ts';
import { createStorageServer, type StorageServer } from '../../../systems/storage/index.ts';

const USER = 'u-instr';
const BLOCK = 'b-instr';

function chunk(index: number) {
  return {
    name: `part-${index}.bin`,
    key: `${USER}/${BLOCK}/v/part-${index}.bin`,
    size: 16,
    sha256: 'a'.repeat(64),
    index,
  };
}

const CREATE = JSON.stringify({ status: 'generating', chunks: [chunk(0)] });
const APPEND = JSON.stringify({ status: 'generating', chunks: [chunk(0), chunk(1)] });

/** Version ids of one fixed width, so that no call handles longer strings than another. */
function versionId(i: number): string {
  return `v${String(i).padStart(9, '0')}`;
}

async function writeManifest(s: StorageServer, i: number): Promise<void> {
  const url = `/upload/manifest?user_id=${USER}&block_id=${BLOCK}&version_id=${versionId(i)}`;
  const created = await s.app.inject({
    method: 'PUT',
    url,
    headers: { 'content-type': 'application/json', 'if-none-match': '*' },
    payload: CREATE,
  });
  if (created.statusCode !== 201)
    throw new Error(`manifest create answered ${created.statusCode}: ${created.body}`);
  const etag = created.headers.etag;
  if (typeof etag !== 'string') throw new Error('manifest create answered without an ETag');
  const updated = await s.app.inject({
    method: 'PUT',
    url,
    headers: { 'content-type': 'application/json', 'if-match': etag },
    payload: APPEND,
  });
  if (updated.statusCode !== 200)
    throw new Error(`manifest update answered ${updated.statusCode}: ${updated.body}`);
}

export const operations = {
  // One call = a create and an update of a new manifest: two conditional writes, each made durable
  // (temp file, fsync, rename) by the fs backend in a temporary root removed by close().
  'manifest.write': operation({
    setup: async () => {
      const server = await createStorageServer({ port: 0 }, { env: {} });
      await server.app.ready();
      return server;
    },
    run: writeManifest,
    teardown: (s) => s.close(),
    n: 100,
    warmup: 1_500,
    unitsPerCall: 2,
    clock: 'stepped',
  }),
};
