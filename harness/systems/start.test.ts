import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { RigError } from '../errors.ts';
import { parseSystemOptions } from './start.ts';
import {
  defineSystem,
  type Started,
  type StartedInprocess,
  type StartedRemote,
  type SystemApi,
  type SystemHandle,
  type SystemOptions,
} from './types.ts';

const gateway = defineSystem({
  name: 'gateway',
  description: 'a server with an API',
  defaultProvider: 'process',
  options: z
    .object({
      engine: z.enum(['dummy', 'real']).optional(),
      slots: z.number().int().min(1).default(4),
      limits: z.object({ body: z.number().int().positive() }).strict().optional(),
    })
    .strict(),
  process: {
    command: ({ port, options }) => ({ file: 'serve', args: [String(port), String(options.slots)] }),
  },
  inprocess: {
    start: async ({ options }) => ({
      api: { slots: options.slots },
      endpoint: 'http://127.0.0.1:1',
      stop: async () => {},
    }),
  },
});

const library = defineSystem({
  name: 'library',
  description: 'an in-process library',
  defaultProvider: 'inprocess',
  inprocess: { start: async () => ({ api: new Map<string, number>(), stop: async () => {} }) },
});

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RigError);
    expect((error as RigError).code).toBe('RIG_CONFIG_INVALID');
    return (error as RigError).message;
  }
  throw new Error('no error');
}

describe('start options', () => {
  it('are parsed by the definition schema, defaults applied', () => {
    expect(parseSystemOptions(gateway, { engine: 'dummy' })).toEqual({ engine: 'dummy', slots: 4 });
    expect(parseSystemOptions(gateway, undefined)).toEqual({ slots: 4 });
  });

  it('fail on an unknown key with its path and the allowed keys', () => {
    expect(message(() => parseSystemOptions(gateway, { engin: 'dummy' }))).toBe(
      'systems.gateway.options.engin: unrecognized key (allowed: engine, slots, limits)',
    );
  });

  it('fail on a bad value with its path, nested ones included', () => {
    expect(message(() => parseSystemOptions(gateway, { slots: 0 }))).toMatch(
      /^systems\.gateway\.options\.slots: Too small/,
    );
    expect(message(() => parseSystemOptions(gateway, { limits: { body: 1, bdy: 2 } }))).toBe(
      'systems.gateway.options.limits.bdy: unrecognized key (allowed: body)',
    );
  });

  it('pass unchecked for a definition without a schema', () => {
    expect(parseSystemOptions(library, { anything: 1 })).toEqual({ anything: 1 });
  });
});

describe('typed handles', () => {
  it('type the API, the endpoint and the options by provider', () => {
    type G = typeof gateway;
    type L = typeof library;
    expectTypeOf<Started<G, 'process'>>().toEqualTypeOf<StartedRemote<'process'>>();
    expectTypeOf<Started<G, 'inprocess'>['api']>().toEqualTypeOf<{ slots: number }>();
    expectTypeOf<Started<G, 'inprocess'>['endpoint']>().toEqualTypeOf<string>();
    // Whatever the provider, the gateway has an endpoint.
    expectTypeOf<Started<G>['endpoint']>().toEqualTypeOf<string>();
    expectTypeOf<Started<G>['provider']>().toEqualTypeOf<'inprocess' | 'process' | 'external'>();
    // A library has only its API: no endpoint, no external target.
    expectTypeOf<Started<L>>().toEqualTypeOf<StartedInprocess<Map<string, number>, undefined>>();
    expectTypeOf<SystemApi<SystemHandle<L>>>().toEqualTypeOf<Map<string, number>>();
    expectTypeOf<SystemOptions<SystemHandle<G>>>().toMatchTypeOf<{
      engine?: 'dummy' | 'real';
      slots?: number;
    }>();
    const handle: SystemHandle<G> = { name: 'gateway' };
    expect(handle.name).toBe('gateway');
  });
});
