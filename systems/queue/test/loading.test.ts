import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../index.ts';

const README = readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');

describe('library loading and documentation', () => {
  it('the addon is built and loads; the API is exported', (ctx) => {
    const unsupported = api.queueUnavailableReason();
    if (unsupported) return ctx.skip(unsupported); // nothing is built off Linux
    expect(existsSync(api.ADDON_PATH)).toBe(true);
    expect(typeof api.Queue.create).toBe('function');
    expect(typeof api.Queue.open).toBe('function');
    for (const cls of [
      api.QueueFull,
      api.QueueEmpty,
      api.QueueClosed,
      api.MessageTooLarge,
      api.QueueCorrupt,
    ]) {
      expect(new cls('x')).toBeInstanceOf(api.QueueError);
    }
  });

  it('every error code is documented in README.md', () => {
    for (const code of Object.keys(api.QUEUE_ERROR_CODES)) expect(README, code).toContain(`\`${code}\``);
  });

  it('typed errors carry stable codes', () => {
    expect(new api.QueueFull('x').code).toBe('QUEUE_FULL');
    expect(new api.QueueEmpty('x').code).toBe('QUEUE_EMPTY');
    expect(new api.QueueClosed('x').code).toBe('QUEUE_CLOSED');
    expect(new api.MessageTooLarge('x').code).toBe('QUEUE_MESSAGE_TOO_LARGE');
    expect(new api.QueueCorrupt('x').code).toBe('QUEUE_CORRUPT');
  });
});
