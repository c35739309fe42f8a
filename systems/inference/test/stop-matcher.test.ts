import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../engines/stop-matcher.ts';

function run(stops: string[], pieces: string[]): { out: string[]; stopped: boolean; all: string } {
  const out: string[] = [];
  const m = new StopMatcher(stops, (t) => out.push(t));
  for (const p of pieces) if (m.push(p)) break;
  const all = m.end();
  return { out, stopped: m.stopped, all };
}

describe('StopMatcher', () => {
  it('passes text through without stops', () => {
    expect(run([], ['a', 'b']).all).toBe('ab');
  });

  it('cuts before a stop sequence split across pieces and never emits it', () => {
    const r = run(['END'], ['hello E', 'N', 'D more']);
    expect(r.all).toBe('hello ');
    expect(r.stopped).toBe(true);
    expect(r.out.join('')).toBe('hello ');
  });

  it('releases held-back text that turned out not to be a stop', () => {
    const r = run(['END'], ['x E', 'Nx', ' y']);
    expect(r.all).toBe('x ENx y');
    expect(r.stopped).toBe(false);
  });

  it('uses the earliest of several stops', () => {
    expect(run(['b', 'a'], ['xxab']).all).toBe('xx');
  });
});
