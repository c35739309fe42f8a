// Paths that leave the machine they were made on (run.json's `files`, links in reports) are
// written the same on every OS: relative, with forward slashes. Tests pass `path.win32` to see
// what a Windows run would write.
import path from 'node:path';

type PathApi = Pick<typeof path, 'sep' | 'isAbsolute' | 'relative'>;

/** A native relative path with `/` between its parts: `suites\x\y.test.ts` -> `suites/x/y.test.ts`. */
export function toPosixPath(native: string, api: PathApi = path): string {
  return api.sep === '/' ? native : native.split(api.sep).join('/');
}

/**
 * A native relative path as the path of a relative URL (href, src): forward slashes, each part
 * percent-encoded (a space, `#` or `?` in a name cannot end the path). An absolute path (a drive
 * letter, a UNC share, a leading slash) has no place in a link that must work wherever the report
 * is copied to, and throws a RangeError.
 */
export function toUrlPath(native: string, api: PathApi = path): string {
  if (api.isAbsolute(native) || /^[A-Za-z]:/.test(native)) {
    throw new RangeError(`a report link must be relative, got ${native}`);
  }
  return toPosixPath(native, api).split('/').map(encodeURIComponent).join('/');
}

/** The relative URL from the directory `fromDir` (the page's) to `to`, both native paths. */
export function relativeUrl(fromDir: string, to: string, api: PathApi = path): string {
  return toUrlPath(api.relative(fromDir, to), api);
}
