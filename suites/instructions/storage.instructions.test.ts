// Instructions per manifest write of the storage service (create with If-None-Match: *, or append
// with If-Match; the fs backend's durable write included), through app.inject(), beside its time.
// Workload: ./workloads/storage.ts.
import { describe } from 'vitest';
import { countIt } from './figures.ts';

describe('storage instruction counts', () => {
  countIt(
    'storage',
    'storage.manifest.write',
    'manifest.write',
    'conditional manifest write (create, then one append) through app.inject(), fs backend',
  );
});
