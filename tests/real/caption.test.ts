// `harness caption` on the real stack: python/caption.py with the real BLIP classes of transformers
// (BlipForConditionalGeneration + BlipProcessor) in the harness's CPU environment, on a tiny random BLIP the
// test builds (tests/real/make_tiny_blip.py) and passes with --blip. Random weights caption gibberish made of
// the tiny vocabulary, so the checks are on structure: the prefix, the sorted and well-formed metadata.jsonl,
// hand edits kept on a rerun, and what was recorded about the model that ran.
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { treeDigest } from '../../harness/models/built.ts';
import { harness, REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writePng } from '../dataset/helpers.ts';
import { realStack, type RealStack } from './stack.ts';

const PREFIX = 'a photo of TOK boy, ';
const CAPTION_TIMEOUT = 300_000;

let stack: RealStack;
let blip: string;

beforeAll(async () => {
  stack = await realStack();
  blip = path.join(await tempDir('harness-blip-'), 'tiny-blip');
  const made = await execa(stack.python, [path.join(REPO, 'tests', 'real', 'make_tiny_blip.py'), blip], { env: stack.env, reject: false, timeout: CAPTION_TIMEOUT });
  expect(made.exitCode, made.stderr).toBe(0);
}, CAPTION_TIMEOUT);

async function dataset(): Promise<string> {
  const dir = path.join(await tempDir('harness-caption-real-'), 'data');
  await mkdir(dir);
  // written out of order on purpose: metadata.jsonl must be sorted anyway
  for (const i of [3, 1, 2]) await writePng(path.join(dir, `0${i}.png`), i);
  return dir;
}

function caption(dir: string, args: string[] = []) {
  return harness(['caption', dir, '--python', stack.python, '--blip', blip, '--device', 'cpu', '--prefix', PREFIX, ...args], {
    env: { ...stack.env, HARNESS_CAPTION_SCRIPT: undefined },
    timeout: CAPTION_TIMEOUT,
  });
}

/** metadata.jsonl, checked line by line: one JSON object per line, newline-terminated, nothing else. */
async function metadata(dir: string): Promise<Array<{ file_name: string; prompt: string }>> {
  const text = await readFile(path.join(dir, 'metadata.jsonl'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const row = JSON.parse(line);
      expect(Object.keys(row).sort()).toEqual(['file_name', 'prompt']);
      expect(typeof row.prompt).toBe('string');
      return row;
    });
}

describe('harness caption on the real BLIP classes (tiny random BLIP)', () => {
  it(
    'captions every PNG with the trigger prefix into a sorted metadata.jsonl, records the model by digest, and keeps hand edits on a rerun',
    async () => {
      const dir = await dataset();
      const first = await caption(dir, ['--json']);
      expect(first.exitCode, first.stderr).toBe(0);
      const result = JSON.parse(first.stdout);
      // the real captioner in the real environment ran, not a stand-in
      expect(result.captioner).toMatchObject({ python: stack.python, script: path.join(REPO, 'python', 'caption.py'), device: 'cpu', dtype: 'float32' });
      expect(result.captioner.versions).toMatchObject({ transformers: '5.18.0', torch: expect.stringMatching(/^2\.13\.0/) });
      expect(result.model).toEqual({ id: blip, revision: await treeDigest(blip) });
      expect(result.changes.map((c: { file: string; action: string }) => [c.file, c.action])).toEqual([
        ['01.png', 'new'],
        ['02.png', 'new'],
        ['03.png', 'new'],
      ]);

      const rows = await metadata(dir);
      expect(rows.map((r) => r.file_name)).toEqual(['01.png', '02.png', '03.png']);
      const record = JSON.parse(await readFile(path.join(dir, '.harness-captions.json'), 'utf8'));
      for (const row of rows) {
        expect(row.prompt.startsWith(PREFIX), row.prompt).toBe(true);
        const words = row.prompt.slice(PREFIX.length);
        expect(words.trim().length, row.prompt).toBeGreaterThan(0);
        expect(words).not.toContain('\n');
        // decoded without BLIP's special tokens ([DEC] starts every caption, [SEP] ends it)
        expect(words).not.toMatch(/\[(DEC|SEP|PAD|CLS|UNK|MASK)\]/);
        // the prompt is the prefix and BLIP's own first line, as recorded
        expect(record.entries[row.file_name]).toMatchObject({ prompt: row.prompt, blip: words, model: { id: blip, revision: await treeDigest(blip) }, device: 'cpu', dtype: 'float32' });
      }
      const check = await harness(['dataset', 'check', dir, '--size', '64', '--min-images', '3']);
      expect(check.stdout).toContain('ok: 0 problems');
      expect(check.exitCode).toBe(0);

      // a hand edit, and a new image: only the new image goes through BLIP; the edit stays
      const edited = `${PREFIX}a boy with tight short curls, studio light`;
      await writeFile(path.join(dir, 'metadata.jsonl'), rows.map((r) => `${JSON.stringify(r.file_name === '02.png' ? { ...r, prompt: edited } : r)}\n`).join(''));
      await writePng(path.join(dir, '00.png'), 0);
      const second = await caption(dir, ['--json']);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(second.stderr).toContain('captioned 1/1 00.png');
      expect(JSON.parse(second.stdout).changes.map((c: { file: string; action: string }) => [c.file, c.action])).toEqual([
        ['00.png', 'new'],
        ['01.png', 'unchanged'],
        ['02.png', 'kept'],
        ['03.png', 'unchanged'],
      ]);
      const after = await metadata(dir);
      expect(after.map((r) => r.file_name)).toEqual(['00.png', '01.png', '02.png', '03.png']);
      expect(after.map((r) => r.prompt)).toEqual([expect.stringMatching(/^a photo of TOK boy, \S/), rows[0]!.prompt, edited, rows[2]!.prompt]);

      // nothing left to caption: Python does not start
      const third = await caption(dir);
      expect(third.exitCode, third.stderr).toBe(0);
      expect(third.stdout).toContain('BLIP not needed');
      expect(third.stdout).toContain('already up to date');
    },
    CAPTION_TIMEOUT * 2,
  );

  it('--blip must name a folder (exit 2), before any Python starts', async () => {
    const dir = await dataset();
    const missing = await harness(['caption', dir, '--python', '/nonexistent/python3', '--blip', path.join(blip, 'nope')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('--blip');
    expect(missing.stderr).toContain('no such folder');
  });
});
