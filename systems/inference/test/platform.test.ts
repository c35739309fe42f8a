import { describe, expect, it } from 'vitest';
import { chooseEngine, detectBestEngine, getPlatformInfo } from '../platform.ts';

describe('platform detection', () => {
  it('reads the real machine', async () => {
    const p = await getPlatformInfo();
    expect(['linux', 'darwin', 'windows', 'other']).toContain(p.system);
    expect(p.cpus).toBeGreaterThan(0);
    expect(p.totalMemoryBytes).toBeGreaterThan(0);
    expect([false, 'cuda', 'metal', 'vulkan']).toContain(p.gpu);
  });

  it('applies the plan: MLX on Apple Silicon, vLLM with CUDA, llama.cpp otherwise', () => {
    expect(chooseEngine({ system: 'darwin', arch: 'arm64', gpu: 'metal' }).engine).toBe('mlx');
    expect(chooseEngine({ system: 'darwin', arch: 'x64', gpu: false }).engine).toBe('llama_cpp');
    expect(chooseEngine({ system: 'linux', arch: 'x64', gpu: 'cuda' }).engine).toBe('vllm');
    expect(chooseEngine({ system: 'windows', arch: 'x64', gpu: 'cuda' }).engine).toBe('vllm');
    expect(chooseEngine({ system: 'linux', arch: 'x64', gpu: 'vulkan' }).engine).toBe('llama_cpp');
    expect(chooseEngine({ system: 'linux', arch: 'x64', gpu: false }).reason).toMatch(/fallback/);
  });

  it('honours force and says so', async () => {
    const r = await detectBestEngine({ force: 'vllm' });
    expect(r.engine).toBe('vllm');
    expect(r.reason).toMatch(/forced/);
  });
});
