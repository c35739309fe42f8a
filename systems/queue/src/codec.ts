import { deserialize, serialize } from 'node:v8';
import { QueueError } from '../errors.ts';

/** node:v8 structured serialisation; QUEUE_UNSERIALIZABLE for what it cannot carry. */
export function encode(value: unknown): Buffer {
  try {
    return serialize(value);
  } catch (error) {
    throw new QueueError(
      'QUEUE_UNSERIALIZABLE',
      `cannot serialise ${describe(value)}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Deserialises bytes that may live in a reused scratch buffer: node:v8 returns typed arrays that
 * alias their input, so the bytes are copied first.
 */
export function decode(scratch: Buffer, offset: number, length: number): unknown {
  const own = Buffer.allocUnsafe(length);
  scratch.copy(own, 0, offset, offset + length);
  return deserialize(own);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
