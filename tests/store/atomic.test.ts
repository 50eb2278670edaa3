import { execa } from 'execa';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendJsonLine, parseJsonLines, readJsonLines, writeJsonAtomic } from '../../harness/store/atomic.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const WRITER = path.join(REPO, 'tests/fixtures/store/writer.ts');
const WRITE_ONCE = path.join(REPO, 'tests/fixtures/store/write-once.ts');

describe('atomic writes', () => {
  it('leave a complete JSON file after a kill -9 in the middle of writing', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'status.json');
    await writeJsonAtomic(file, { generation: 0 });
    for (let round = 0; round < 5; round++) {
      const child = execa(process.execPath, ['--import', 'tsx', WRITER, file], { cwd: REPO, reject: false });
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 150 + round * 37));
      child.kill('SIGKILL');
      await child;
      const parsed = JSON.parse(await readFile(file, 'utf8'));
      expect(parsed.schemaVersion).toBe(1);
      expect(typeof parsed.generation).toBe('number');
    }
    // temp files of a killed writer may remain, but never under the real name
    const names = await readdir(dir);
    expect(names.filter((n) => !n.includes('.tmp-'))).toEqual(['status.json']);
  });

  it('leave the target untouched and no temp file when a write fails midway', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'status.json');
    await writeJsonAtomic(file, { generation: 1 });
    // under a 128 KiB file-size limit (bash counts -f in KiB) a 1 KB write goes through, then a 1 MiB
    // one fails with EFBIG once 128 KiB of it reached the disk
    const sizes = ['1000', String(1 << 20)];
    const child = await execa('bash', ['-c', 'ulimit -f 128 && exec "$0" --import tsx "$@"', process.execPath, WRITE_ONCE, file, ...sizes], { cwd: REPO });
    expect(JSON.parse(child.stdout)).toEqual([{ ok: true }, { ok: false, code: 'EFBIG' }]);
    // the file is the last complete write, byte for byte, and the failed write's temp file is gone
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify({ schemaVersion: 1, generation: 2, payload: 'x'.repeat(1000) }, null, 2)}\n`);
    expect(await readdir(dir)).toEqual(['status.json']);
  });

  it('write schemaVersion first', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'x.json');
    await writeJsonAtomic(file, { a: 1 });
    expect(await readFile(file, 'utf8')).toBe('{\n  "schemaVersion": 1,\n  "a": 1\n}\n');
  });
});

describe('JSON lines', () => {
  it('append and read back', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'events.jsonl');
    await appendJsonLine(file, { step: 1 });
    await appendJsonLine(file, { step: 2 });
    expect(await readJsonLines(file)).toEqual([{ step: 1 }, { step: 2 }]);
  });

  it('skip a last line cut short by a crash, but refuse corruption in the middle', async () => {
    expect(parseJsonLines('{"a":1}\n{"a":2}\n{"a":')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(() => parseJsonLines('{"a":1}\nnot json\n{"a":2}\n', 'e.jsonl')).toThrow('e.jsonl:2');
    const dir = await tempDir();
    await writeFile(path.join(dir, 'e.jsonl'), '{"a":1}\n{"a"');
    expect(await readJsonLines(path.join(dir, 'e.jsonl'))).toEqual([{ a: 1 }]);
  });
});
