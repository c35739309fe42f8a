import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MessageTooLarge,
  Queue,
  QueueCorrupt,
  QueueEmpty,
  QueueError,
  QueueFull,
  segmentPath,
} from '../index.ts';
import { useQueues } from './helpers.ts';

const queues = useQueues('errors');

describe('error handling', () => {
  it('get with a timeout raises QueueEmpty; getNowait at once', async () => {
    const q = queues.create({ capacityBytes: 1024 });
    const started = Date.now();
    await expect(q.get({ timeout: 30 })).rejects.toBeInstanceOf(QueueEmpty);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25); // it waited, it did not fail at once
    expect(() => q.getNowait()).toThrow(QueueEmpty);
    await expect(q.get({ block: false })).rejects.toMatchObject({ code: 'QUEUE_EMPTY' });
    expect(() => q.getSync({ timeout: 5 })).toThrow(QueueEmpty);
  });

  it('put with a timeout raises QueueFull; putNowait at once', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 64, mode: 'raw' });
    q.putNowait(Buffer.alloc(56));
    await expect(q.put(Buffer.alloc(1), { timeout: 20 })).rejects.toBeInstanceOf(QueueFull);
    expect(() => q.putNowait(Buffer.alloc(1))).toThrow(QueueFull);
    expect(() => q.putSync(Buffer.alloc(1), { timeout: 5 })).toThrow(QueueFull);
    await expect(q.put(Buffer.alloc(1), { block: false })).rejects.toMatchObject({ code: 'QUEUE_FULL' });
  });

  it('unserialisable values raise QUEUE_UNSERIALIZABLE and nothing is queued', async () => {
    const q = queues.create({ capacityBytes: 1024 });
    await expect(q.put(() => 1)).rejects.toMatchObject({ code: 'QUEUE_UNSERIALIZABLE' });
    expect(() => q.putNowait(Symbol('s'))).toThrow(expect.objectContaining({ code: 'QUEUE_UNSERIALIZABLE' }));
    expect(() => q.putNowait({ f: () => 1 })).toThrow(QueueError);
    expect(q.qsize()).toBe(0);
  });

  it('oversize messages raise MessageTooLarge, also in raw mode and batches', async () => {
    const q = queues.create({ capacityBytes: 4096, maxMessageBytes: 100 });
    await expect(q.put('x'.repeat(200))).rejects.toBeInstanceOf(MessageTooLarge);
    const raw = queues.create<Buffer>({ capacityBytes: 4096, maxMessageBytes: 100, mode: 'raw' });
    expect(() => raw.putNowait(Buffer.alloc(101))).toThrow(MessageTooLarge);
    raw.putNowait(Buffer.alloc(100));
    expect(() => raw.putManyNowait([Buffer.alloc(1), Buffer.alloc(101)])).toThrow(MessageTooLarge);
    expect(raw.qsize()).toBe(1);
  });

  it('a segment whose header does not check out is refused with QueueCorrupt', () => {
    const name = queues.name();
    const fd = openSync(segmentPath(name), 'w');
    writeSync(fd, Buffer.alloc(8192, 0xab));
    closeSync(fd);
    expect(() => Queue.open(name)).toThrow(QueueCorrupt);
    const tiny = queues.name();
    closeSync(openSync(segmentPath(tiny), 'w'));
    expect(() => Queue.open(tiny)).toThrow(QueueCorrupt);
  });

  it('a damaged header of a real queue is refused', () => {
    const q = queues.create({ capacityBytes: 4096 });
    q.close();
    const fd = openSync(segmentPath(q.name), 'r+');
    writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4, 16); // capacity field
    closeSync(fd);
    expect(() => Queue.open(q.name)).toThrow(expect.objectContaining({ code: 'QUEUE_CORRUPT' }));
  });

  it('bad options and names raise QUEUE_INVALID_ARGUMENT naming the field', () => {
    expect(() => Queue.create('bad/name')).toThrow(
      expect.objectContaining({ code: 'QUEUE_INVALID_ARGUMENT' }),
    );
    expect(() => Queue.create(queues.name(), { capacityBytes: 100 })).toThrow(/capacityBytes/);
    expect(() => Queue.create(queues.name(), { capacityBytes: 32 })).toThrow(/capacityBytes/);
    expect(() => Queue.create(queues.name(), { capacityBytes: 64, maxMessageBytes: 60 })).toThrow(
      /maxMessageBytes/,
    );
    const q = queues.create({ capacityBytes: 1024 });
    return expect(q.get({ timeout: -1 })).rejects.toThrow(/timeout/);
  });

  it('raw mode refuses non-bytes; getInto with a small target keeps the message', () => {
    const q = queues.create<Buffer>({ capacityBytes: 1024, mode: 'raw' });
    expect(() => q.putNowait('text' as unknown as Buffer)).toThrow(/raw mode/);
    q.putNowait(Buffer.alloc(50, 1));
    expect(() => q.getInto(Buffer.alloc(10))).toThrow(
      expect.objectContaining({ code: 'QUEUE_BUFFER_TOO_SMALL' }),
    );
    expect(q.qsize()).toBe(1);
    expect(q.getInto(Buffer.alloc(64))).toBe(50);
  });
});
