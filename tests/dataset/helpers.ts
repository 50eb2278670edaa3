// Small real datasets built with sharp in temp folders.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../helpers/tmp.ts';

export const SIZE = 64;
export const PREFIX = 'a photo of TOK boy, ';

/** A PNG whose pixels depend on `seed`, so different seeds never collide as duplicates. */
export async function writePng(file: string, seed: number, width = SIZE, height = width): Promise<void> {
  await sharp({ create: { width, height, channels: 3, background: { r: (seed * 37) % 256, g: (seed * 91 + 13) % 256, b: (seed * 53 + 101) % 256 } } })
    .png()
    .toFile(file);
}

export function line(fileName: unknown, prompt: unknown = `${PREFIX}a boy with short curly hair smiling`): string {
  return JSON.stringify({ file_name: fileName, prompt });
}

/** A clean dataset of `count` PNGs named 01.png… with sorted, prefixed metadata. */
export async function cleanDataset(count = 5, root?: string): Promise<string> {
  const dir = root ?? path.join(await tempDir('harness-dataset-'), 'data');
  await mkdir(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `${String(i + 1).padStart(2, '0')}.png`);
  for (const [i, name] of names.entries()) await writePng(path.join(dir, name), i + 1);
  await writeFile(path.join(dir, 'metadata.jsonl'), names.map((name) => `${line(name)}\n`).join(''));
  return dir;
}

export async function writeMetadata(dir: string, lines: string[]): Promise<void> {
  await writeFile(path.join(dir, 'metadata.jsonl'), lines.map((l) => `${l}\n`).join(''));
}
