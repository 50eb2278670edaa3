// The report of a fixed fixture sweep, compared byte for byte with a reviewed golden file.
// After an intended change: UPDATE_GOLDEN=1 npx vitest run tests/report/golden.test.ts, then review the diff.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type BuildReportResult } from '../../harness/report/build.ts';
import { writeFixtureStore } from '../fixtures/report/store.ts';
import { SWEEP } from '../fixtures/report/sweep.ts';
import { tempDir } from '../helpers/tmp.ts';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden', 'report.md');

let root: string;
let first: BuildReportResult;
let markdown: string;

beforeAll(async () => {
  root = await tempDir('harness-report-golden-');
  await writeFixtureStore(path.join(root, 'store'), SWEEP);
  first = await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'tok-boy', outDir: path.join(root, 'a') });
  markdown = await readFile(first.reportPath, 'utf8');
});

describe('report of the fixture sweep', () => {
  it('matches the golden Markdown', async () => {
    if (process.env.UPDATE_GOLDEN) await writeFile(GOLDEN, markdown);
    expect(markdown).toBe(await readFile(GOLDEN, 'utf8'));
  });

  it('is byte-identical when built twice, Markdown, SVG and PNG alike', async () => {
    const second = await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'tok-boy', outDir: path.join(root, 'b') });
    expect(second.files).toEqual(first.files);
    for (const file of first.files.filter((f) => /\.(md|svg|png|txt)$/.test(f))) {
      const [a, b] = await Promise.all([readFile(path.join(root, 'a', file)), readFile(path.join(root, 'b', file))]);
      expect(a.equals(b), file).toBe(true);
    }
    // and a rebuild over the first folder (cached renders) writes the same bytes again
    const again = await buildReport({ storeRoot: path.join(root, 'store'), experiment: 'tok-boy', outDir: path.join(root, 'a') });
    expect(await readFile(again.reportPath, 'utf8')).toBe(markdown);
  });

  it('keeps every table row to its column count despite | in names and settings', () => {
    const tables = markdown.split('\n\n').filter((block) => block.startsWith('| '));
    expect(tables.length).toBeGreaterThanOrEqual(3);
    for (const block of tables) {
      const rows = block.split('\n');
      const columns = (line: string) => line.replace(/\\\|/g, '').split('|').length;
      for (const row of rows) expect(columns(row), row).toBe(columns(rows[0]!));
    }
  });

  it('escapes odd variant names instead of letting them become HTML or emphasis', () => {
    expect(markdown).toContain('odd\\|name&lt;x&gt;\\*-33333333');
    // raw only inside fenced code (the exact command), where Markdown shows it literally
    expect(markdown.replace(/^```[^]*?^```$/gm, '')).not.toMatch(/odd\|name<x>/);
    expect(markdown).toContain("'runs/tok-boy/odd|name<x>*-33333333/spec.json'");
    expect(markdown).toContain('note\\`s=a\\|b');
  });

  it('links only relative paths to files of the linked kind in the report folder', async () => {
    const targets = [...markdown.matchAll(/\]\(([^)]+)\)/g)].map((m) => decodeURIComponent(m[1]!));
    expect(targets.length).toBeGreaterThan(10);
    const kinds = new Set<string>();
    for (const target of targets) {
      expect(target, target).not.toMatch(/^(\/|[a-z]+:)/);
      const bytes = await readFile(path.join(root, 'a', target));
      const kind = path.extname(target);
      kinds.add(kind);
      if (kind === '.png') {
        // the PNG signature, then an IHDR with a real size
        expect(bytes.subarray(0, 8).toString('hex'), target).toBe('89504e470d0a1a0a');
        expect(bytes.readUInt32BE(16) * bytes.readUInt32BE(20), target).toBeGreaterThan(0);
      } else if (kind === '.svg') {
        expect(bytes.toString('utf8'), target).toMatch(/^<svg[^>]*>[^]*<\/svg>\s*$/);
      } else if (kind === '.txt') {
        expect(bytes.toString('utf8').trim().length, target).toBeGreaterThan(0);
      } else {
        throw new Error(`a link to an unexpected kind of file: ${target}`);
      }
    }
    expect([...kinds].sort()).toEqual(['.png', '.svg', '.txt']);
  });

  it('writes the failed run\'s log tail and one chart per kind', async () => {
    expect(await readFile(path.join(root, 'a', 'logs', 'res-1024-44444444.train-tail.txt'), 'utf8')).toContain('CUDA out of memory');
    expect((await readdir(path.join(root, 'a', 'charts'))).sort()).toEqual(['identity-cost.svg', 'identity-steps.svg', 'loss.svg', 'vram.svg']);
  });
});
