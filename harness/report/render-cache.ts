// Skips re-rendering an asset whose inputs are unchanged: `.cache/keys/<asset>.key` holds the hash of
// everything the asset is made from. Renders are deterministic, so a skipped file equals a rebuilt one.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashObject } from '../util/hash.ts';

/** Bump when a renderer's output changes for the same inputs (layout, colours, fonts, encoder). */
export const RENDER_VERSION = 1;

export class RenderCache {
  constructor(private readonly outDir: string) {}

  private keyFile(relative: string): string {
    return path.join(this.outDir, '.cache', 'keys', `${relative.replace(/\//g, '__')}.key`);
  }

  key(inputs: unknown): string {
    return hashObject({ version: RENDER_VERSION, inputs });
  }

  async fresh(relative: string, key: string): Promise<boolean> {
    const [stored, target] = await Promise.all([readFile(this.keyFile(relative), 'utf8').catch(() => null), stat(path.join(this.outDir, relative)).catch(() => null)]);
    return stored === key && target !== null;
  }

  async record(relative: string, key: string): Promise<void> {
    const file = this.keyFile(relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, key);
  }
}
