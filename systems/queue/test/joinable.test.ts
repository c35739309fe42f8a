import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Queue } from '../index.ts';
import { runChild, startChild, useQueues } from './helpers.ts';

const queues = useQueues('join');

/** The last JSON line a child printed (its result). */
function resultOf(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe('taskDone() and join(), as Python JoinableQueue', () => {
  it('counts a task per put, one less per taskDone, and refuses one taskDone too many', async () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    await q.join(); // nothing put: joined at once
    q.putNowait(1);
    q.putNowait(2);
    expect(q.unfinishedTasks()).toBe(2);
    q.getNowait();
    q.taskDone();
    expect(q.unfinishedTasks()).toBe(1);
    expect(q.stats()).toMatchObject({ tasksDone: 1, unfinishedTasks: 1, creatorPid: process.pid });
    q.getNowait();
    q.taskDone();
    expect(() => q.taskDone()).toThrow(expect.objectContaining({ code: 'QUEUE_TASK_DONE_TOO_MANY' }));
    expect(q.unfinishedTasks()).toBe(0);
    await q.join();
  });

  it('join waits for the last taskDone, times out with its own code, and fails when shut down', async () => {
    const q = queues.create<number>({ capacityBytes: 4096, spin: 0 });
    q.putNowait(1);
    await expect(q.join({ timeout: 30 })).rejects.toMatchObject({ code: 'QUEUE_JOIN_TIMEOUT' });
    let joined = false;
    const join = q.join().then(() => {
      joined = true;
    });
    q.getNowait();
    await new Promise((r) => setTimeout(r, 20));
    expect(joined).toBe(false); // taken is not done
    q.taskDone();
    await join;
    expect(joined).toBe(true);

    q.putNowait(2);
    const pending = q.join();
    q.shutdown();
    await expect(pending).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
    await expect(q.join({ bogus: 1 } as never)).rejects.toMatchObject({ code: 'QUEUE_INVALID_ARGUMENT' });
  });

  it('across processes: workers mark messages done, a joiner in another process and this one wake once all are', async () => {
    const q = queues.create<number>({ capacityBytes: 1 << 16, spin: 0 });
    const n = 500;
    await q.put(0); // an unfinished task before the joiner starts: its join cannot return at once
    const joiner = await startChild(['join', q.name]);
    let joinerOut = '';
    joiner.stdout?.on('data', (d) => {
      joinerOut += d;
    });
    const joinerExit = once(joiner, 'exit');
    const workers = [runChild(['work', q.name]), runChild(['work', q.name])];
    for (let i = 1; i < n; i++) await q.put(i);
    await q.join({ timeout: 60_000 });
    expect(q.unfinishedTasks()).toBe(0);
    expect(q.stats()).toMatchObject({ messagesIn: n, tasksDone: n });
    await joinerExit;
    expect(resultOf(joinerOut)).toMatchObject({ joined: true, left: 0 });
    q.shutdown();
    const done = (await Promise.all(workers)).map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return resultOf(r.stdout).done as number;
    });
    expect(done.reduce((a, b) => a + b, 0)).toBe(n);
    // a handle opened later sees the same count: it lives in the segment
    const other = queues.track(Queue.open<number>(q.name));
    expect(other.unfinishedTasks()).toBe(0);
    expect(() => other.taskDone()).toThrow(expect.objectContaining({ code: 'QUEUE_TASK_DONE_TOO_MANY' }));
  });
});
