// The browser that browser suites drive: a system Chromium (Debian's package), never one that
// Playwright downloads (`npx playwright install` cannot reach its CDN from CI machines here).
import { existsSync } from 'node:fs';
import { readRigEnv } from './env.ts';

/** Where a distribution installs Chromium, in the order they are tried. */
export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'] as const;

/**
 * Flags for a headless Chromium on a CI machine: no sandbox (containers run as root), no GPU,
 * and none of the background traffic (updates, sync) that a test must not depend on.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** The Chromium to launch: RIG_CHROMIUM when set and present, else the first of CHROMIUM_PATHS. */
export function chromiumExecutable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = readRigEnv(env).RIG_CHROMIUM;
  if (given) return existsSync(given) ? given : undefined;
  return CHROMIUM_PATHS.find((p) => existsSync(p));
}

/** Why browser suites cannot run here, or undefined when a Chromium is there to launch. */
export function chromiumUnavailableReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (chromiumExecutable(env)) return undefined;
  const given = readRigEnv(env).RIG_CHROMIUM;
  if (given) return `no Chromium at RIG_CHROMIUM=${given}: point it at a Chromium executable or unset it`;
  return `no Chromium at ${CHROMIUM_PATHS.join(' or ')}: apt-get install -y chromium (.ci/run installs it)`;
}
