// The browser that browser suites drive: the system's Chromium (Debian's package) or Google Chrome
// (macOS, Windows), never one that Playwright downloads (`npx playwright install` cannot reach its CDN from CI machines here).
import { existsSync } from 'node:fs';
import { readRigEnv } from './env.ts';

/** Where each OS has a Chromium-based browser Playwright can drive, in the order they are tried. */
export const CHROMIUM_CANDIDATES = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser'],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
  ],
  win32: [
    'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
    'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
  ],
} as const satisfies Partial<Record<NodeJS.Platform, readonly string[]>>;

/** How to get one, by OS. */
const CHROMIUM_INSTALL: Record<keyof typeof CHROMIUM_CANDIDATES, string> = {
  linux: 'apt-get install -y chromium (.ci/run installs it)',
  darwin: 'install Google Chrome (or brew install --cask chromium), or set RIG_CHROMIUM',
  win32: 'install Google Chrome, or set RIG_CHROMIUM to chrome.exe (msedge.exe is Chromium too)',
};

/** The candidates on `platform` (other POSIX systems are tried like Linux). */
export function chromiumCandidates(platform: NodeJS.Platform = process.platform): readonly string[] {
  return platform === 'darwin' || platform === 'win32'
    ? CHROMIUM_CANDIDATES[platform]
    : CHROMIUM_CANDIDATES.linux;
}

/** What `chromiumExecutable` looks at; tests pass another OS and a fake file system. */
export interface ChromiumLookup {
  platform: NodeJS.Platform;
  exists: (file: string) => boolean;
}
const THIS_MACHINE: ChromiumLookup = { platform: process.platform, exists: existsSync };

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

/** The Chromium to launch: RIG_CHROMIUM when set and present, else the first of this OS's candidates. */
export function chromiumExecutable(
  env: NodeJS.ProcessEnv = process.env,
  lookup: ChromiumLookup = THIS_MACHINE,
): string | undefined {
  const given = readRigEnv(env).RIG_CHROMIUM;
  if (given) return lookup.exists(given) ? given : undefined;
  return chromiumCandidates(lookup.platform).find((p) => lookup.exists(p));
}

/** Why browser suites cannot run here, or undefined when a Chromium is there to launch. */
export function chromiumUnavailableReason(
  env: NodeJS.ProcessEnv = process.env,
  lookup: ChromiumLookup = THIS_MACHINE,
): string | undefined {
  if (chromiumExecutable(env, lookup)) return undefined;
  const given = readRigEnv(env).RIG_CHROMIUM;
  if (given) return `no Chromium at RIG_CHROMIUM=${given}: point it at a Chromium executable or unset it`;
  const os = lookup.platform === 'darwin' || lookup.platform === 'win32' ? lookup.platform : 'linux';
  return `no Chromium at ${chromiumCandidates(lookup.platform).join(' or ')}: ${CHROMIUM_INSTALL[os]}`;
}
