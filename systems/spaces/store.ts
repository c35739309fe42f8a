// The SQLite store (better-sqlite3, WAL): spaces, requests with their status, attempts, timestamps
// and results, and the feature toggles. Writes go through a batch that commits once per event-loop
// tick in one transaction (group commit); `write()` resolves after that commit, `defer()` does not
// wait. Reads are synchronous prepared statements.
import Database from 'better-sqlite3';
import type { SynchronousMode } from './config.ts';

export type RequestStatus = 'queued' | 'dispatched' | 'completed' | 'failed' | 'timeout';
export const TERMINAL: ReadonlySet<RequestStatus> = new Set(['completed', 'failed', 'timeout']);

export interface SpaceRow {
  space_id: string;
  name: string;
  token_hash: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface RequestRow {
  seq: number;
  request_id: string;
  space_id: string;
  status: RequestStatus;
  input: string;
  /** JSON of the output (completed) or of `{ code, message }` (failed, timeout). */
  result: string | null;
  attempts: number;
  /** The attempt whose answer (or timeout) ended the request. */
  result_attempt: number | null;
  /** The socket id that delivered the result. */
  result_conn: string | null;
  created_at: number;
  dispatched_at: number | null;
  finished_at: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spaces (
  space_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL UNIQUE,
  space_id TEXT NOT NULL,
  status TEXT NOT NULL,
  input TEXT NOT NULL,
  result TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  result_attempt INTEGER,
  result_conn TEXT,
  created_at INTEGER NOT NULL,
  dispatched_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS requests_open ON requests(status) WHERE status IN ('queued', 'dispatched');
CREATE INDEX IF NOT EXISTS requests_by_space ON requests(space_id, seq);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export interface HistoryQuery {
  spaceId?: string;
  status?: RequestStatus;
  /** Only rows with seq below this (the previous page's `next_cursor`). */
  before?: number;
  limit: number;
}

export class SpacesStore {
  readonly db: Database.Database;
  private readonly ops: Array<() => void> = [];
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly commit: () => void;
  private readonly st;

  constructor(file: string, synchronous: SynchronousMode) {
    this.db = new Database(file, { timeout: 5000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(SCHEMA);
    const db = this.db;
    this.st = {
      insertSpace: db.prepare(
        'INSERT INTO spaces (space_id, name, token_hash, enabled, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)',
      ),
      updateSpace: db.prepare(
        'UPDATE spaces SET name = ?, token_hash = ?, enabled = ?, updated_at = ? WHERE space_id = ?',
      ),
      deleteSpace: db.prepare('DELETE FROM spaces WHERE space_id = ?'),
      allSpaces: db.prepare<[], SpaceRow>('SELECT * FROM spaces ORDER BY space_id'),
      insertRequest: db.prepare(
        "INSERT INTO requests (request_id, space_id, status, input, created_at) VALUES (?, ?, 'queued', ?, ?)",
      ),
      dispatched: db.prepare(
        "UPDATE requests SET status = 'dispatched', attempts = ?, dispatched_at = ? WHERE request_id = ?",
      ),
      requeued: db.prepare("UPDATE requests SET status = 'queued' WHERE request_id = ?"),
      finished: db.prepare(
        'UPDATE requests SET status = ?, result = ?, result_attempt = ?, result_conn = ?, finished_at = ? WHERE request_id = ?',
      ),
      byId: db.prepare<[string], RequestRow>('SELECT * FROM requests WHERE request_id = ?'),
      open: db.prepare<[], RequestRow>(
        "SELECT * FROM requests WHERE status IN ('queued', 'dispatched') ORDER BY seq",
      ),
      requeueAll: db.prepare("UPDATE requests SET status = 'queued' WHERE status = 'dispatched'"),
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      setSetting: db.prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
    };
    this.commit = db.transaction(() => {
      for (const op of this.ops) op();
    });
  }

  /** Queues a write; resolves once the batch holding it has committed. */
  write(op: () => void): Promise<void> {
    this.ops.push(op);
    this.schedule();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Queues a write that nobody waits for (it commits with the tick's batch, in order). */
  defer(op: () => void): void {
    this.ops.push(op);
    this.schedule();
  }

  private schedule(): void {
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Commits every queued write now, in one transaction. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.ops.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    try {
      this.commit();
      this.ops.length = 0;
    } catch (e) {
      this.ops.length = 0;
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const w of waiters) w.resolve();
  }

  // Writes: call inside write()/defer() so that they join the tick's transaction.
  insertSpace(id: string, name: string, tokenHash: string, now: number): void {
    this.st.insertSpace.run(id, name, tokenHash, now, now);
  }
  updateSpace(row: Pick<SpaceRow, 'space_id' | 'name' | 'token_hash' | 'enabled'>, now: number): void {
    this.st.updateSpace.run(row.name, row.token_hash, row.enabled, now, row.space_id);
  }
  deleteSpace(id: string): void {
    this.st.deleteSpace.run(id);
  }
  insertRequest(id: string, spaceId: string, inputJson: string, now: number): void {
    this.st.insertRequest.run(id, spaceId, inputJson, now);
  }
  markDispatched(id: string, attempts: number, now: number): void {
    this.st.dispatched.run(attempts, now, id);
  }
  markRequeued(id: string): void {
    this.st.requeued.run(id);
  }
  markFinished(
    id: string,
    status: RequestStatus,
    resultJson: string,
    attempt: number | null,
    conn: string | null,
    now: number,
  ): void {
    this.st.finished.run(status, resultJson, attempt, conn, now, id);
  }
  setSetting(key: string, value: string): void {
    this.st.setSetting.run(key, value);
  }

  // Reads.
  spaces(): SpaceRow[] {
    return this.st.allSpaces.all();
  }
  request(id: string): RequestRow | undefined {
    return this.st.byId.get(id);
  }
  setting(key: string): string | undefined {
    return this.st.getSetting.get(key)?.value;
  }
  /** Open requests in submit order, after turning every `dispatched` one back into `queued`. */
  resumeOpen(): RequestRow[] {
    return this.db.transaction(() => {
      this.st.requeueAll.run();
      return this.st.open.all();
    })();
  }
  history(q: HistoryQuery): RequestRow[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.spaceId !== undefined) {
      where.push('space_id = ?');
      args.push(q.spaceId);
    }
    if (q.status !== undefined) {
      where.push('status = ?');
      args.push(q.status);
    }
    if (q.before !== undefined) {
      where.push('seq < ?');
      args.push(q.before);
    }
    const sql = `SELECT * FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return this.db.prepare<Array<string | number>, RequestRow>(sql).all(...args, q.limit);
  }

  close(): void {
    this.flush();
    if (this.db.open) this.db.close();
  }
}
