import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RigError } from '../../errors.ts';
import { chooseProvider } from '../start.ts';
import { defineSystem } from '../types.ts';
import { Wait } from '../wait.ts';
import { PROVIDER_NAMES, PROVIDERS, providerNamed, providersOf } from './index.ts';

const library = defineSystem({
  name: 'library',
  description: 'an in-process library',
  defaultProvider: 'inprocess',
  inprocess: { start: async () => ({ api: 1, stop: async () => {} }) },
});

const server = defineSystem({
  name: 'server',
  description: 'a server',
  defaultProvider: 'process',
  options: z.object({}).strict(),
  process: { command: () => ({ file: 'true', args: [] }) },
  inprocess: { start: async () => ({ api: 1, endpoint: 'http://127.0.0.1:1', stop: async () => {} }) },
  externalWait: Wait.forHttp('/health', { timeoutMs: 200 }),
});

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('RIG_')) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('PROVIDERS', () => {
  it('maps every provider name to one implementation', () => {
    expect(PROVIDER_NAMES).toEqual(['inprocess', 'process', 'container', 'external']);
    for (const name of PROVIDER_NAMES) {
      expect(PROVIDERS[name].description.length).toBeGreaterThan(10);
      expect(typeof PROVIDERS[name].start).toBe('function');
    }
  });

  it('says which providers a definition supports: external only for a network system', () => {
    expect(providersOf(library)).toEqual(['inprocess']);
    expect(providersOf(server)).toEqual(['inprocess', 'process', 'external']);
  });

  it('refuses an unknown provider name with the allowed ones', () => {
    expect(providerNamed('process')).toBe('process');
    expect(() => providerNamed('docker')).toThrow(
      'unknown provider "docker"; allowed: inprocess, process, container, external',
    );
  });
});

describe('chooseProvider', () => {
  it('asked > a target for the system > RIG_PROVIDER when supported > the default', () => {
    expect(chooseProvider(server)).toBe('process');
    expect(chooseProvider(server, 'inprocess')).toBe('inprocess');
    process.env.RIG_PROVIDER = 'inprocess';
    expect(chooseProvider(server)).toBe('inprocess');
    process.env.RIG_PROVIDER = 'container';
    expect(chooseProvider(server)).toBe('process'); // server has no container provider
    process.env.RIG_TARGET_SERVER = 'http://127.0.0.1:1';
    expect(chooseProvider(server)).toBe('external');
    process.env.RIG_TARGETS = JSON.stringify({ library: 'http://127.0.0.1:1' });
    expect(chooseProvider(library)).toBe('inprocess'); // a library is never somebody's server
    process.env.RIG_PROVIDER = 'nope';
    expect(() => chooseProvider(library)).toThrow(/RIG_PROVIDER: unknown provider "nope"/);
  });
});

describe('external provider', () => {
  it('takes a ws:// target, and waits for a TCP connect instead of the HTTP check', async () => {
    const tcp = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const { port } = tcp.address() as net.AddressInfo;
    process.env.RIG_TARGET_SERVER = `ws://127.0.0.1:${port}/socket`;
    let cleaned = false;
    try {
      const started = await PROVIDERS.external.start(
        server,
        { tmpDir: '/nonexistent', options: {} },
        async () => {
          cleaned = true;
        },
      );
      expect(started).toMatchObject({ provider: 'external', endpoint: `ws://127.0.0.1:${port}/socket` });
      expect(cleaned).toBe(true);
      await started.stop();
    } finally {
      await new Promise((resolve) => tcp.close(resolve));
    }
  });

  it('names the target it waited for when a ws:// target does not answer', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    process.env.RIG_TARGET_SERVER = `ws://127.0.0.1:${port}`;
    const error = await PROVIDERS.external
      .start(server, { tmpDir: '/nonexistent', options: {} }, async () => {})
      .catch((e: unknown) => e);
    expect((error as RigError).code).toBe('RIG_SYSTEM_NOT_READY');
    expect((error as RigError).message).toMatch(
      /^external target server \(ws:\/\/127\.0\.0\.1:\d+\): TCP port accepting connections not satisfied after 200ms/,
    );
  });

  it('says how to give a target when there is none', async () => {
    const error = await PROVIDERS.external
      .start(server, { tmpDir: '/nonexistent', options: {} }, async () => {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RigError);
    expect((error as RigError).message).toBe(
      'no external target for server; pass --target server=http://host:port',
    );
  });
});
