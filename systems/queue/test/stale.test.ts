import { randomBytes } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { skipAllWhen } from '../../../harness/index.ts';
import {
  cleanupStaleSegments,
  inspectSegments,
  Queue,
  queueUnavailableReason,
  segmentPath,
} from '../index.ts';
import { runChild } from './helpers.ts';

skipAllWhen(queueUnavailableReason());

const prefix = `stale-${process.pid}-${randomBytes(3).toString('hex')}-`;
const ours = (name: string) => name.startsWith(prefix);
afterAll(() => {
  for (const s of inspectSegments().segments) {
    if (!ours(s.name)) continue;
    try {
      unlinkSync(s.path);
    } catch {}
  }
});

function info(name: string) {
  return inspectSegments().segments.find((s) => s.name === name);
}

describe('stale segments (creator and every attached process dead)', () => {
  it('finds a segment left by a dead creator, lists it in a dry run, removes it with remove', async () => {
    const name = `${prefix}left`;
    const r = await runChild(['create-and-exit', name, '3']);
    expect(r.code, r.stderr).toBe(0);
    const childPid = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { pid: number }).pid;
    expect(info(name)).toMatchObject({
      stale: true,
      creatorPid: childPid,
      attachedPids: [],
      messages: 3,
      layout: 3,
    });

    const dry = cleanupStaleSegments({ only: ours });
    expect(dry.dryRun).toBe(true);
    expect(dry.stale.map((s) => s.name)).toContain(name);
    expect(dry.removed).toEqual([]);
    expect(info(name)).toBeDefined(); // a dry run removes nothing

    const done = cleanupStaleSegments({ remove: true, only: ours });
    expect(done.removed).toContain(name);
    expect(info(name)).toBeUndefined();
  });

  it('keeps a segment some process has mapped, and one whose creator still runs', async () => {
    const mapped = `${prefix}mapped`;
    expect((await runChild(['create-and-exit', mapped, '1'])).code).toBe(0);
    const handle = Queue.open(mapped); // this process attaches: no longer stale
    expect(info(mapped)).toMatchObject({ stale: false, attachedPids: [process.pid] });

    const mine = `${prefix}mine`;
    Queue.create(mine, { capacityBytes: 4096 }).close(); // created here, detached, not unlinked
    expect(info(mine)).toMatchObject({
      stale: false,
      creatorPid: process.pid,
      creatorAlive: true,
      attachedPids: [],
    });

    const result = cleanupStaleSegments({ remove: true, only: ours });
    expect(result.removed).not.toContain(mapped);
    expect(result.removed).not.toContain(mine);
    handle.close();
    expect(info(mapped)?.stale).toBe(true); // the last attached process let go
    Queue.unlink(mine);
    Queue.unlink(mapped);
  });

  it('reports a foreign file under the prefix as stale without trusting its header', () => {
    const name = `${prefix}foreign`;
    writeFileSync(segmentPath(name), randomBytes(2048));
    const s = info(name);
    expect(s).toMatchObject({ stale: true, attachedPids: [] });
    expect(s?.creatorPid).toBeUndefined();
    expect(s?.reason).toMatch(/no creator recorded/);
  });
});
