import path from 'node:path';
import { spawnRunner } from './spawn.ts';

/**
 * Runs @playwright/test on `files` (repository-relative specs) with `env` added to the
 * environment; resolves to its exit code. The same shape as VitestRunner: tests pass a fake.
 */
export type BrowserRunner = (job: {
  root: string;
  files: string[];
  env: Record<string, string>;
  quiet: boolean;
}) => Promise<number | null>;

/**
 * A command-line filter that matches exactly one spec: Playwright reads each argument as a regular
 * expression over the file's absolute path, so `a.spec.ts` alone would also match `xa.spec.ts`.
 */
export function exactFileFilter(rel: string): string {
  const escaped = rel
    .split('/')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\\\/]');
  return `(^|[\\\\/])${escaped}$`;
}

/** The repository's @playwright/test in a child process (playwright.config.ts); Ctrl-C is passed on. */
export const spawnPlaywright: BrowserRunner = ({ root, files, env, quiet }) =>
  spawnRunner({
    root,
    args: [
      path.join(root, 'node_modules', '@playwright', 'test', 'cli.js'),
      'test',
      '--config',
      'playwright.config.ts',
      ...files.map(exactFileFilter),
    ],
    env,
    quiet,
  });
