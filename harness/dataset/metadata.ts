// metadata.jsonl: one JSON object per line, {"file_name": …, "prompt": …}. Parsing keeps line numbers
// so every problem can name its line; file_name checks keep the loader inside the dataset folder.
import path from 'node:path';
import { compareNames } from './files.ts';

export interface MetadataLine {
  /** 1-based line number in metadata.jsonl */
  line: number;
  /** the parsed object, or undefined when the line is not a JSON object */
  value: Record<string, unknown> | undefined;
  /** why the line is not a JSON object */
  error?: string;
}

export function parseMetadata(text: string): { lines: MetadataLine[]; blankLines: number[] } {
  const lines: MetadataLine[] = [];
  const blankLines: number[] = [];
  const rows = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (rows.at(-1) === '') rows.pop();
  rows.forEach((row, i) => {
    const line = i + 1;
    if (row.trim() === '') {
      blankLines.push(line);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch (error) {
      lines.push({ line, value: undefined, error: `not JSON (${(error as Error).message})` });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      lines.push({ line, value: undefined, error: `not a JSON object (got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)})` });
      return;
    }
    lines.push({ line, value: value as Record<string, unknown> });
  });
  return { lines, blankLines };
}

export type FileNameVerdict =
  | { ok: true; name: string }
  | { ok: false; reason: 'escape' | 'not-flat' | 'empty'; message: string };

/**
 * A file_name must name a file directly inside the dataset folder: no absolute paths, no `..`, no
 * subfolders (the loader resolves file_name relative to metadata.jsonl, so `../x.png` trains on a
 * file outside the dataset and outside its content hash). Symlinks are checked by the caller.
 */
export function checkFileName(fileName: string): FileNameVerdict {
  if (fileName.trim() === '') return { ok: false, reason: 'empty', message: 'file_name is empty' };
  if (path.posix.isAbsolute(fileName) || path.win32.isAbsolute(fileName) || /^[a-zA-Z]:/.test(fileName)) {
    return { ok: false, reason: 'escape', message: `file_name "${fileName}" is an absolute path: name a file inside the dataset folder` };
  }
  const parts = fileName.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  let depth = 0;
  for (const part of parts) {
    depth += part === '..' ? -1 : 1;
    if (depth < 0) return { ok: false, reason: 'escape', message: `file_name "${fileName}" points outside the dataset folder` };
  }
  if (parts.includes('..') || parts.length !== 1) {
    return { ok: false, reason: 'not-flat', message: `file_name "${fileName}" is not a plain file name: keep every image directly in the dataset folder` };
  }
  return { ok: true, name: parts[0]! };
}

export interface MetadataEntry {
  file_name: string;
  prompt: string;
  [key: string]: unknown;
}

/** metadata.jsonl text in file-name order: the loader emits rows in line order, and row order changes training. */
export function serializeMetadata(entries: MetadataEntry[]): string {
  const sorted = [...entries].sort((a, b) => compareNames(a.file_name, b.file_name));
  return sorted.map(({ file_name, prompt, ...rest }) => `${JSON.stringify({ file_name, prompt, ...rest })}\n`).join('');
}
