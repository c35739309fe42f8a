import { describe, expect, it } from 'vitest';
import { defaultThreads, ENV_OVERRIDES, loadConfig, resolveModelId } from '../config.ts';
import { InferenceError } from '../errors.ts';

function configError(fn: () => unknown): InferenceError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InferenceError) return e;
    throw e;
  }
  throw new Error('expected an InferenceError');
}

describe('InferenceConfig', () => {
  it('has the documented defaults and is frozen', () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      engine: 'auto',
      slots: 4,
      queueLimit: 64,
      gpu: 'cpu',
    });
    expect(c.threads).toBe(defaultThreads());
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('chooses one llama.cpp thread per two cores', () => {
    expect(defaultThreads(1)).toBe(1);
    expect(defaultThreads(2)).toBe(1);
    expect(defaultThreads(16)).toBe(8);
  });

  it('applies environment overrides over the given input', () => {
    const c = loadConfig(
      { port: 1234, engine: 'dummy' },
      {
        PORT: '9000',
        HOST: '0.0.0.0',
        INFERENCE_SLOTS: '2',
        MODEL_PATH: '/m/x.gguf',
        INFERENCE_ENGINE: 'llama_cpp',
      },
    );
    expect(c).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      slots: 2,
      modelPath: '/m/x.gguf',
      engine: 'llama_cpp',
    });
    expect(resolveModelId(c, 'llama_cpp')).toBe('x');
  });

  it('maps every override variable to a config field', () => {
    for (const [name, field] of Object.entries(ENV_OVERRIDES)) {
      expect(typeof name).toBe('string');
      expect(
        Object.keys(loadConfig({}, {})).concat(['modelPath', 'modelId', 'upstreamUrl', 'upstreamApiKey']),
      ).toContain(field);
    }
  });

  it('fails with one line naming the field, the allowed values and the source', () => {
    const e = configError(() => loadConfig({}, { PORT: 'abc' }));
    expect(e.code).toBe('INFERENCE_CONFIG_INVALID');
    expect(e.message).not.toContain('\n');
    expect(e.message).toContain('inference.port must be an integer 0-65535');
    expect(e.message).toContain('from PORT');
    const engine = configError(() => loadConfig({}, { INFERENCE_ENGINE: 'gpt' }));
    expect(engine.message).toContain(
      'inference.engine must be one of auto, dummy, llama_cpp, openai-proxy, vllm, mlx',
    );
    const unknown = configError(() => loadConfig({ nope: 1 } as never, {}));
    expect(unknown.message).toContain('unknown field(s) nope');
    const url = configError(() => loadConfig({ upstreamUrl: 'not a url' }, {}));
    expect(url.message).toContain('inference.upstreamUrl');
  });
});
