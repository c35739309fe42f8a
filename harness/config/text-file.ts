// Text that people edit and commit (thresholds, baselines, rig.config.json, figures.jsonl) may come
// from a Windows editor or checkout: a UTF-8 byte order mark, CRLF line ends. Readers go through
// here so that both read as the LF, BOM-less text rig writes itself.
import { readFileSync } from 'node:fs';

const BOM = '\uFEFF';

/** `text` without a leading UTF-8 byte order mark (JSON.parse refuses one). */
export function stripBom(text: string): string {
  return text.startsWith(BOM) ? text.slice(BOM.length) : text;
}

/** The lines of `text`, split at LF or CRLF (no line keeps its CR), BOM removed. */
export function textLines(text: string): string[] {
  return stripBom(text).split(/\r?\n/);
}

/** A UTF-8 text file, BOM removed; line ends are left as they are (JSON does not mind CRLF). */
export function readTextFile(file: string): string {
  return stripBom(readFileSync(file, 'utf8'));
}
