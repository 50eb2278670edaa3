// `harness caption` end to end: the real CLI, a real Python child speaking the caption protocol
// (tests/fixtures/captioner), real files. Only BLIP itself is replaced.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLIP_MODEL } from '../../harness/dataset/caption-plan.ts';
import { REPO, harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { PREFIX, SIZE, writePng } from './helpers.ts';

const FAKE = path.join(REPO, 'tests', 'fixtures', 'captioner', 'fake_caption.py');

async function setup(count = 3): Promise<{ dir: string; log: string; run: (args?: string[], env?: Record<string, string>) => ReturnType<typeof harness> }> {
  const root = await tempDir('harness-caption-');
  const dir = path.join(root, 'data');
  await mkdir(dir);
  // written out of order on purpose: the output must be sorted anyway
  for (const i of [3, 1, 2, 4, 5].slice(0, count)) await writePng(path.join(dir, `0${i}.png`), i);
  const log = path.join(root, 'captioner.log');
  const run = (args: string[] = [], env: Record<string, string> = {}) =>
    harness(['caption', dir, '--python', 'python3', ...args], { env: { HARNESS_CAPTION_SCRIPT: FAKE, FAKE_CAPTIONER_LOG: log, ...env } });
  return { dir, log, run };
}

const auto = (stem: string) => `${PREFIX}a boy with curly hair in picture ${stem} ${SIZE}x${SIZE}`;
const read = (file: string) => readFile(file, 'utf8');
const rows = async (dir: string) => (await read(path.join(dir, 'metadata.jsonl'))).trim().split('\n').map((l) => JSON.parse(l));
async function calls(log: string): Promise<string[][]> {
  const text = await read(log).catch(() => '');
  return text.trim() ? text.trim().split('\n').map((l) => JSON.parse(l).images.map((i: { name: string }) => i.name)) : [];
}

describe('harness caption', () => {
  it('captions every PNG in sorted order with the prefix and BLIP first line, and records what it wrote', async () => {
    const { dir, log, run } = await setup(3);
    const result = await run();
    expect(result.stderr).toContain('captioned 3/3');
    expect(result.exitCode).toBe(0);
    expect(await rows(dir)).toEqual([
      { file_name: '01.png', prompt: auto('01') },
      { file_name: '02.png', prompt: auto('02') },
      { file_name: '03.png', prompt: auto('03') },
    ]);
    const spec = JSON.parse((await read(log)).trim());
    expect(spec.model).toEqual(BLIP_MODEL);
    expect(spec.model.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(spec.generation).toEqual({ max_length: 50, num_beams: 1, do_sample: false });
    expect(spec.dtypes).toEqual({ cuda: 'float16', cpu: 'float32' });
    expect(spec.images.map((i: { name: string }) => i.name)).toEqual(['01.png', '02.png', '03.png']);
    const record = JSON.parse(await read(path.join(dir, '.harness-captions.json')));
    expect(record.schemaVersion).toBe(1);
    expect(record.entries['02.png']).toMatchObject({ blip: 'a boy with curly hair in picture 02 64x64', prompt: auto('02'), model: BLIP_MODEL, device: 'cpu', dtype: 'float32' });
    // the result passes the dataset check
    const check = await harness(['dataset', 'check', dir, '--size', String(SIZE), '--min-images', '3']);
    expect(check.stdout).toContain('ok: 0 problems');
    expect(check.exitCode).toBe(0);
  });

  it('keeps hand edits, captions only new images, and does not rerun BLIP for recorded ones', async () => {
    const { dir, log, run } = await setup(3);
    expect((await run()).exitCode).toBe(0);
    const edited = `${PREFIX}a boy with tight short curls and a long neck, studio light`;
    const current = await rows(dir);
    current[1].prompt = edited;
    await writeFile(path.join(dir, 'metadata.jsonl'), current.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await writePng(path.join(dir, '00.png'), 0);
    const result = await run(['--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.changes.map((c: { file: string; action: string }) => [c.file, c.action])).toEqual([
      ['00.png', 'new'],
      ['01.png', 'unchanged'],
      ['02.png', 'kept'],
      ['03.png', 'unchanged'],
    ]);
    expect(await calls(log)).toEqual([['01.png', '02.png', '03.png'], ['00.png']]);
    expect((await rows(dir)).map((r) => r.prompt)).toEqual([auto('00'), auto('01'), edited, auto('03')]);
    // nothing to do: Python is not started at all
    const again = await run();
    expect(again.stdout).toContain('BLIP not needed');
    expect(again.stdout).toContain('already up to date');
    expect((await calls(log)).length).toBe(2);
  });

  it('replaces hand edits with --force', async () => {
    const { dir, log, run } = await setup(2);
    await writeFile(path.join(dir, 'metadata.jsonl'), `${JSON.stringify({ file_name: '01.png', prompt: `${PREFIX}hand written` })}\n`);
    expect((await run()).exitCode).toBe(0);
    expect((await rows(dir))[0].prompt).toBe(`${PREFIX}hand written`);
    const forced = await run(['--force']);
    expect(forced.exitCode).toBe(0);
    expect((await rows(dir)).map((r) => r.prompt)).toEqual([auto('01'), auto('03')]);
    expect((await calls(log)).at(-1)).toEqual(['01.png', '03.png']);
  });

  it('treats captions it did not write (e.g. from the Colab, unsorted) as hand edits and sorts them', async () => {
    const { dir, run } = await setup(3);
    const colab = [
      { file_name: '03.png', prompt: `${PREFIX}a boy in a garden` },
      { file_name: '01.png', prompt: `${PREFIX}a boy at a table` },
      { file_name: '02.png', prompt: `${PREFIX}a boy on a bench` },
    ];
    await writeFile(path.join(dir, 'metadata.jsonl'), colab.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const result = await run();
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('3 kept');
    expect(await rows(dir)).toEqual([colab[1], colab[2], colab[0]]);
  });

  it('--dry-run shows the diff and writes nothing', async () => {
    const { dir, run } = await setup(2);
    expect((await run()).exitCode).toBe(0);
    const before = await read(path.join(dir, 'metadata.jsonl'));
    const recordBefore = await read(path.join(dir, '.harness-captions.json'));
    await writePng(path.join(dir, '02.png'), 2);
    const result = await run(['--dry-run', '--prefix', 'photo of TOK boy: ']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`+ 02.png: photo of TOK boy: a boy with curly hair in picture 02 ${SIZE}x${SIZE}`);
    expect(result.stdout).toContain(`~ 01.png:\n    - ${auto('01')}\n    + photo of TOK boy: a boy with curly hair in picture 01 ${SIZE}x${SIZE}`);
    expect(result.stdout).toContain('dry run, nothing written');
    expect(await read(path.join(dir, 'metadata.jsonl'))).toBe(before);
    expect(await read(path.join(dir, '.harness-captions.json'))).toBe(recordBefore);
  });

  it('applies a new prefix to automatic captions without rerunning BLIP, and keeps hand edits', async () => {
    const { dir, log, run } = await setup(2);
    expect((await run()).exitCode).toBe(0);
    const current = await rows(dir);
    current[0].prompt = `${PREFIX}my own words`;
    await writeFile(path.join(dir, 'metadata.jsonl'), current.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const result = await run(['--prefix', 'a photo of TOK kid, ']);
    expect(result.exitCode).toBe(0);
    expect((await rows(dir)).map((r) => r.prompt)).toEqual([`${PREFIX}my own words`, `a photo of TOK kid, a boy with curly hair in picture 03 ${SIZE}x${SIZE}`]);
    expect((await calls(log)).length).toBe(1);
  });

  it('drops lines of images that are gone and keeps extra columns', async () => {
    const { dir, run } = await setup(2);
    await writeFile(
      path.join(dir, 'metadata.jsonl'),
      [{ file_name: 'gone.png', prompt: `${PREFIX}x` }, { file_name: '03.png', prompt: '', split: 'train' }].map((r) => `${JSON.stringify(r)}\n`).join(''),
    );
    const result = await run(['--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout).dropped).toEqual(['gone.png']);
    expect(await rows(dir)).toEqual([
      { file_name: '01.png', prompt: auto('01') },
      { file_name: '03.png', prompt: auto('03'), split: 'train' },
    ]);
  });

  it('ignores stray stdout lines of the captioner', async () => {
    const { dir, run } = await setup(1);
    const result = await run([], { FAKE_CAPTIONER_MODE: 'noise' });
    expect(result.exitCode).toBe(0);
    expect((await rows(dir)).length).toBe(1);
  });

  it('leaves metadata.jsonl untouched when the captioner dies half-way (exit 1, with its last output)', async () => {
    const { dir, run } = await setup(3);
    const original = `${JSON.stringify({ file_name: '01.png', prompt: '' })}\n`;
    await writeFile(path.join(dir, 'metadata.jsonl'), original);
    const result = await run([], { FAKE_CAPTIONER_MODE: 'crash_after_first' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('captioner exited with 1');
    expect(result.stderr).toContain('CUDA out of memory (fake)');
    expect(await read(path.join(dir, 'metadata.jsonl'))).toBe(original);
    await expect(read(path.join(dir, '.harness-captions.json'))).rejects.toThrow();
  });

  it('names the install command when a Python package is missing (exit 2)', async () => {
    const { run } = await setup(1);
    const result = await run([], { FAKE_CAPTIONER_MODE: 'missing_package' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Python package missing for captioning in python3: transformers');
    expect(result.stderr).toContain('python3 -m pip install -r python/requirements-cuda.txt');
  });

  it('says so when Python itself is missing (exit 2)', async () => {
    const { dir } = await setup(1);
    const result = await harness(['caption', dir, '--python', '/nonexistent/python3.11'], { env: { HARNESS_CAPTION_SCRIPT: FAKE } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Python not found: "/nonexistent/python3.11"');
    expect(result.stderr).toContain('python/requirements-cuda.txt');
  });

  it('refuses a damaged metadata.jsonl unless --force (exit 2)', async () => {
    const { dir, run } = await setup(1);
    await writeFile(path.join(dir, 'metadata.jsonl'), '{"file_name": "01.png", "prompt": \n');
    const refused = await run();
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('metadata.jsonl:1');
    expect(refused.stderr).toContain('--force');
    expect((await run(['--force'])).exitCode).toBe(0);
  });

  it('needs PNGs and a folder (exit 2)', async () => {
    const { dir } = await setup(1);
    await unlink(path.join(dir, '03.png'));
    const empty = await harness(['caption', dir]);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('harness dataset prepare');
    const missing = await harness(['caption', path.join(dir, 'nope')]);
    expect(missing.exitCode).toBe(2);
  });
});
