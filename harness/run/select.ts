import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { SUITE_CATEGORIES, type SuiteCategory } from '../config/profile.ts';
import { toPosixPath } from './paths.ts';

/** Browser suites: `<system>.<anything>.spec.ts` files that @playwright/test runs after vitest. */
export const BROWSER_SUITES_DIR = 'suites/browser';

/** A repository-relative path that @playwright/test runs (vitest runs every other test file). */
export function isBrowserSpec(rel: string): boolean {
  return rel.startsWith(`${BROWSER_SUITES_DIR}/`) && rel.endsWith('.spec.ts');
}

function walk(dir: string, test: (name: string) => boolean, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'build' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, test, out);
    else if (test(entry.name)) out.push(full);
  }
  return out;
}

export interface Selection {
  /** Repository-relative test files, in run order: `vitest`'s, then `browser`. */
  files: string[];
  /** What vitest runs: unit files first, then suites by category. */
  vitest: string[];
  /** What @playwright/test runs after vitest: the selected files of BROWSER_SUITES_DIR. */
  browser: string[];
  categories: SuiteCategory[];
}

/** The category of a test file: `suites/<category>/...` (browser suites are `e2e`), else `unit`. */
export function categoryOf(rel: string): string {
  const parts = rel.split('/');
  if (isBrowserSpec(rel)) return 'e2e';
  return parts[0] === 'suites' && parts[1] ? parts[1] : 'unit';
}

function matchesSystem(rel: string, system: string): boolean {
  const base = path.basename(rel);
  return (
    rel.startsWith(`systems/${system}/`) || base.startsWith(`${system}.`) || rel.startsWith(`${system}/`)
  );
}

/**
 * Test files for a profile's categories, narrowed by --suite (category names or file-name
 * substrings) and --system (system names).
 */
export function selectFiles(
  root: string,
  categories: readonly SuiteCategory[],
  filters: { suites?: string[]; systems?: string[] } = {},
): Selection {
  const isTest = (name: string) => name.endsWith('.test.ts');
  const unit = ['harness', 'systems', 'fixtures'].flatMap((d) => walk(path.join(root, d), isTest));
  const suites = walk(path.join(root, 'suites'), isTest);
  const specs = walk(path.join(root, BROWSER_SUITES_DIR), (name) => name.endsWith('.spec.ts'));
  const rel = [...unit, ...suites, ...specs].map((f) => toPosixPath(path.relative(root, f)));
  const suiteFilters = filters.suites ?? [];
  const selected = rel.filter((file) => {
    const category = categoryOf(file);
    const inProfile = categories.includes(category as SuiteCategory);
    if (suiteFilters.length > 0) {
      const named = suiteFilters.some((s) => s === category || (!isCategory(s) && file.includes(s)));
      if (!named) return false;
      // A named category runs even when the profile would not (e.g. --suite bench under smoke).
      if (!inProfile && !suiteFilters.includes(category)) return false;
    } else if (!inProfile) {
      return false;
    }
    if (filters.systems?.length && !filters.systems.some((s) => matchesSystem(file, s))) return false;
    return true;
  });
  selected.sort((a, b) => {
    const ca = categoryOf(a) === 'unit' ? 0 : 1;
    const cb = categoryOf(b) === 'unit' ? 0 : 1;
    return ca - cb || a.localeCompare(b);
  });
  const vitest = selected.filter((f) => !isBrowserSpec(f));
  const browser = selected.filter(isBrowserSpec);
  return { files: [...vitest, ...browser], vitest, browser, categories: [...categories] };
}

const CATEGORY_NAMES = new Set<string>(SUITE_CATEGORIES);
function isCategory(s: string): boolean {
  return CATEGORY_NAMES.has(s);
}
