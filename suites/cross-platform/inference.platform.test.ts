// Inference cross-platform: platform detection against the real machine, the engine choice under
// detected and forced conditions (and under other machines' facts), config validation and
// environment overrides, through the API and through the real server binary.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import * as allure from 'allure-js-commons';
import { describe, expect, it } from 'vitest';
import { startSystem } from '../../harness/index.ts';
import {
  chooseEngine,
  createEngine,
  defaultThreads,
  detectBestEngine,
  ENV_OVERRIDES,
  type GpuKind,
  getPlatformInfo,
  type InferenceConfigInput,
  inferenceSystem,
  isInferenceError,
  loadConfig,
  openaiUrls,
  type PlatformInfo,
  preferredGpu,
} from '../../systems/inference/index.ts';

const OS_OF: Record<string, PlatformInfo['system']> = { linux: 'linux', darwin: 'darwin', win32: 'windows' };

function machine(overrides: Partial<PlatformInfo>): PlatformInfo {
  return {
    system: 'linux',
    machine: 'x86_64',
    arch: 'x64',
    cpus: 8,
    cpuModel: 'test',
    totalMemoryBytes: 16 * 2 ** 30,
    freeMemoryBytes: 8 * 2 ** 30,
    gpu: false,
    gpuTypes: [false],
    node: process.version,
    ...overrides,
  };
}

describe('inference platform detection on this machine', () => {
  it('reports the real OS, machine, CPUs, memory and GPU kind', async () => {
    const p = await getPlatformInfo();
    expect(p.system).toBe(OS_OF[process.platform] ?? 'other');
    expect(p.machine).toBe(os.machine());
    expect(p.arch).toBe(process.arch);
    expect(p.cpus).toBe(os.availableParallelism());
    expect(p.totalMemoryBytes).toBe(os.totalmem());
    expect(p.gpuTypes.length).toBeGreaterThan(0);
    expect(p.gpu === false || p.gpuTypes.includes(p.gpu)).toBe(true);
    await allure.parameter('platform', `${p.system}/${p.machine}, ${p.cpus} CPUs, GPU ${p.gpu || 'none'}`);
  });

  it('detects the engine the plan prefers here, with the reason', async () => {
    const d = await detectBestEngine();
    expect(d).toMatchObject(chooseEngine(d.platform));
    expect(d.reason.length).toBeGreaterThan(10);
    if (d.platform.system === 'darwin' && d.platform.arch === 'arm64') expect(d.engine).toBe('mlx');
    else if (d.platform.gpu === 'cuda') expect(d.engine).toBe('vllm');
    else expect(d.engine).toBe('llama_cpp');
    await allure.parameter('detected engine', `${d.engine}: ${d.reason}`);
  });

  it('honours a forced engine', async () => {
    for (const force of ['vllm', 'mlx', 'llama_cpp'] as const) {
      const d = await detectBestEngine({ force });
      expect(d.engine).toBe(force);
      expect(d.reason).toContain('forced');
    }
  });
});

describe('inference GPU backend and threads per machine', () => {
  // what node-llama-cpp reports as supported on each machine (getLlamaGpuTypes('supported'))
  const cases: Array<[string, GpuKind[], GpuKind]> = [
    ['macOS arm64 (Apple Silicon)', ['metal'], 'metal'],
    ['macOS x64 (Intel: no Metal in llama.cpp there)', [false], false],
    ['Windows x64 with CUDA', ['cuda', 'vulkan', false], 'cuda'],
    ['Windows x64 without a GPU driver', [false], false],
    ['Linux with CUDA', ['cuda', 'vulkan', false], 'cuda'],
    ['Linux with Vulkan only', ['vulkan', false], 'vulkan'],
    ['Linux CPU', [false], false],
  ];
  for (const [name, supported, expected] of cases) {
    it(`${name} -> ${expected || 'cpu'}`, () => {
      expect(preferredGpu(supported)).toBe(expected);
    });
  }

  it('this machine: Metal exactly on Apple Silicon, and one of the supported backends', async () => {
    const p = await getPlatformInfo();
    expect(p.gpu).toBe(preferredGpu(p.gpuTypes));
    if (process.platform === 'darwin' && process.arch === 'arm64') expect(p.gpu).toBe('metal');
    else expect(p.gpu).not.toBe('metal');
  });

  it('threads: one per two cores really available to this process (os.availableParallelism), at least one', () => {
    expect([1, 2, 3, 4, 8, 64].map((n) => defaultThreads(n))).toEqual([1, 1, 1, 2, 4, 32]);
    expect(loadConfig({}, {}).threads).toBe(defaultThreads(os.availableParallelism()));
    expect(loadConfig({}, { INFERENCE_THREADS: '3' }).threads).toBe(3);
  });
});

describe('inference engine choice on other machines', () => {
  const cases: Array<[string, Partial<PlatformInfo>, string]> = [
    [
      'Apple Silicon',
      { system: 'darwin', arch: 'arm64', machine: 'arm64', gpu: 'metal', gpuTypes: ['metal'] },
      'mlx',
    ],
    ['Intel Mac', { system: 'darwin', arch: 'x64', gpu: false }, 'llama_cpp'],
    ['Linux + CUDA', { gpu: 'cuda', gpuTypes: ['cuda', 'vulkan', false] }, 'vllm'],
    ['Windows + CUDA', { system: 'windows', gpu: 'cuda', gpuTypes: ['cuda', false] }, 'vllm'],
    ['Linux + Vulkan only', { gpu: 'vulkan', gpuTypes: ['vulkan', false] }, 'llama_cpp'],
    ['Linux arm64 CPU', { arch: 'arm64', machine: 'aarch64' }, 'llama_cpp'],
  ];
  for (const [name, facts, expected] of cases) {
    it(`${name} -> ${expected}`, () => {
      expect(chooseEngine(machine(facts)).engine).toBe(expected);
    });
  }

  it('auto: vLLM/MLX run through the proxy when an upstream is configured, else llama.cpp, else dummy', async () => {
    const cuda = machine({ gpu: 'cuda', gpuTypes: ['cuda'] });
    const conf = (c: InferenceConfigInput) => loadConfig({ engine: 'auto', ...c }, {});
    const proxied = await createEngine(conf({ upstreamUrl: 'http://127.0.0.1:9/v1' }), cuda);
    expect(proxied.engine).toMatchObject({ name: 'openai-proxy', label: 'vllm' });
    const mac = await createEngine(
      conf({ upstreamUrl: 'http://127.0.0.1:9/v1' }),
      machine({ system: 'darwin', arch: 'arm64' }),
    );
    expect(mac.engine).toMatchObject({ name: 'openai-proxy', label: 'mlx' });
    const local = await createEngine(conf({ modelPath: '/models/x.gguf' }), cuda);
    expect(local.engine.name).toBe('llama_cpp');
    expect(local.reason).toContain('no upstreamUrl');
    const none = await createEngine(conf({}), machine({}));
    expect(none.engine.name).toBe('dummy');
    expect(none.reason).toContain('llama.cpp is the fallback');
  });

  it('explicit engines that need a model or an upstream fail with a one-line config error', async () => {
    for (const [input, field] of [
      [{ engine: 'llama_cpp' }, 'modelPath'],
      [{ engine: 'vllm' }, 'upstreamUrl'],
      [{ engine: 'mlx' }, 'upstreamUrl'],
    ] as const) {
      const err = await createEngine(loadConfig(input, {})).catch((e: unknown) => e);
      expect(isInferenceError(err) && err.code).toBe('INFERENCE_CONFIG_INVALID');
      expect((err as Error).message).toContain(`inference.${field}`);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe('inference config validation and environment overrides', () => {
  const VALID: Record<string, [string, unknown]> = {
    HOST: ['0.0.0.0', '0.0.0.0'],
    PORT: ['9123', 9123],
    INFERENCE_ENGINE: ['dummy', 'dummy'],
    MODEL_PATH: ['/m/a.gguf', '/m/a.gguf'],
    MODEL_ID: ['my-model', 'my-model'],
    INFERENCE_SLOTS: ['3', 3],
    INFERENCE_QUEUE_LIMIT: ['0', 0],
    INFERENCE_QUEUE_TIMEOUT_MS: ['1500', 1500],
    INFERENCE_REQUEST_TIMEOUT_MS: ['2500', 2500],
    INFERENCE_BODY_LIMIT: ['2048', 2048],
    INFERENCE_MAX_TOKENS: ['7', 7],
    INFERENCE_THREADS: ['2', 2],
    INFERENCE_CONTEXT_SIZE: ['1024', 1024],
    INFERENCE_GPU: ['vulkan', 'vulkan'],
    UPSTREAM_URL: ['http://127.0.0.1:8001/v1', 'http://127.0.0.1:8001/v1'],
    UPSTREAM_API_KEY: ['sk-x', 'sk-x'],
    INFERENCE_DUMMY_TOKEN_DELAY_MS: ['5', 5],
  };

  it('every documented variable overrides its field', () => {
    expect(Object.keys(VALID).sort()).toEqual(Object.keys(ENV_OVERRIDES).sort());
    for (const [name, [raw, value]] of Object.entries(VALID)) {
      const field = ENV_OVERRIDES[name as keyof typeof ENV_OVERRIDES];
      expect(loadConfig({}, { [name]: raw })[field], name).toEqual(value);
    }
  });

  const INVALID: Array<[string, string, string]> = [
    ['PORT', '70000', 'inference.port must be an integer 0-65535'],
    ['PORT', 'eighty', 'inference.port must be an integer 0-65535'],
    [
      'INFERENCE_ENGINE',
      'tgi',
      'inference.engine must be one of auto, dummy, llama_cpp, openai-proxy, vllm, mlx',
    ],
    ['INFERENCE_SLOTS', '0', 'inference.slots must be an integer 1-256'],
    ['INFERENCE_GPU', 'rocm', 'inference.gpu must be one of auto, cpu, cuda, vulkan, metal'],
    ['UPSTREAM_URL', 'localhost:8001', 'inference.upstreamUrl must be an absolute URL'],
    ['INFERENCE_BODY_LIMIT', '10', 'inference.bodyLimit must be an integer 1024-1073741824 (bytes)'],
  ];
  for (const [name, raw, message] of INVALID) {
    it(`${name}=${raw} fails with one line naming the field and the allowed values`, () => {
      let err: unknown;
      try {
        loadConfig({}, { [name]: raw });
      } catch (e) {
        err = e;
      }
      expect(isInferenceError(err) && err.code).toBe('INFERENCE_CONFIG_INVALID');
      const msg = (err as Error).message;
      expect(msg).toContain(message);
      expect(msg).toContain(`from ${name}`);
      expect(msg).not.toContain('\n');
    });
  }

  it('the server binary refuses an invalid override with that one line and exit code 2', () => {
    const bin = path.resolve('systems/inference/bin/serve.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', bin], {
      env: { ...process.env, PORT: 'eighty', INFERENCE_ENGINE: 'dummy' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('INFERENCE_CONFIG_INVALID');
    expect(lines[0]).toContain('inference.port must be an integer 0-65535 (got "eighty" from PORT)');
  });

  it('the running server reports the detected engine and its reason (engine auto, no model)', async () => {
    const s = await startSystem(inferenceSystem, { provider: 'process', options: { engine: 'auto' } });
    try {
      const st = (await (await fetch(`${openaiUrls(s.endpoint).root}/v1/system/status`)).json()) as {
        engine: { name: string; reason: string };
        platform: { system: string } | null;
      };
      const detected = await detectBestEngine();
      // No upstream and no model are configured, so whatever the machine prefers, dummy serves.
      expect(st.engine.name).toBe('dummy');
      expect(st.engine.reason).toContain(detected.reason);
      await allure.parameter('served engine', `${st.engine.name}: ${st.engine.reason}`);
    } finally {
      await s.stop();
    }
  });
});
