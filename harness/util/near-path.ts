// "Did you mean …?" for a path that does not exist: the closest name in the folder it points into.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { closest } from './suggest.ts';

/**
 * The path the user probably meant, written as they wrote theirs (same folder part), or undefined.
 * `kind` keeps the candidates to files or folders; `extensions` (e.g. ['.yaml', '.yml']) narrows files.
 * Reads one folder listing; an unreadable or missing folder gives undefined, never an error.
 */
export async function nearPath(given: string, cwd: string, options: { kind: 'file' | 'folder'; extensions?: string[] }, depth = 0): Promise<string | undefined> {
  const trimmed = given.replace(/[\\/]+$/, '');
  const base = path.basename(trimmed);
  let prefix = path.dirname(trimmed);
  let entries = await readdir(path.resolve(cwd, prefix), { withFileTypes: true }).catch(() => null);
  // a misspelt folder on the way ("expermients/demo.yaml"): the nearest folder, then the name in it
  if (!entries && depth < 2 && prefix !== '.' && prefix !== path.dirname(prefix)) {
    const nearFolder = await nearPath(prefix, cwd, { kind: 'folder' }, depth + 1);
    if (nearFolder) {
      prefix = nearFolder;
      entries = await readdir(path.resolve(cwd, prefix), { withFileTypes: true }).catch(() => null);
    }
  }
  const names = (entries ?? [])
    .filter((entry) => (options.kind === 'folder' ? entry.isDirectory() : entry.isFile()))
    .map((entry) => entry.name)
    .filter((name) => !options.extensions || options.extensions.some((ext) => name.toLowerCase().endsWith(ext)));
  const match = names.includes(base) ? base : closest(base, names);
  if (!match) return undefined;
  const near = prefix === '.' && !trimmed.startsWith('.') ? match : path.join(prefix, match);
  return path.resolve(cwd, near) === path.resolve(cwd, trimmed) ? undefined : near;
}

/** " (did you mean experiments/demo.yaml?)", or "" when nothing is near. */
export async function didYouMeanPath(given: string, cwd: string, options: Parameters<typeof nearPath>[2]): Promise<string> {
  const near = await nearPath(given, cwd, options);
  return near ? ` (did you mean ${near}?)` : '';
}
