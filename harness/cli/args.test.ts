import { describe, expect, it } from 'vitest';
import { parseTargets } from './args.ts';

describe('--target name=url', () => {
  it('takes http(s):// and ws(s):// URLs, without a trailing slash', () => {
    expect(
      parseTargets([
        'inference=http://127.0.0.1:8080/v1/',
        'secure=https://api.example/v1',
        'spaces=ws://127.0.0.1:3000',
        'relay=wss://relay.example/socket/',
      ]),
    ).toEqual({
      inference: 'http://127.0.0.1:8080/v1',
      secure: 'https://api.example/v1',
      spaces: 'ws://127.0.0.1:3000',
      relay: 'wss://relay.example/socket',
    });
  });

  it('refuses another scheme or a malformed entry, naming it', () => {
    expect(() => parseTargets(['inference=ftp://x'])).toThrow(
      '--target inference: "ftp://x" must be a http://, https://, ws://, wss:// URL',
    );
    expect(() => parseTargets(['spaces=ws//nohost'])).toThrow(/--target spaces: "ws\/\/nohost"/);
    expect(() => parseTargets(['Inference=http://x'])).toThrow(/must look like name=http:\/\/host:port/);
  });
});
