// `harness score` as a user runs it: a real child process on a temp folder.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { editImage } from '../../harness/image/index.ts';
import { harness, REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const FACES = path.join(REPO, 'tests', 'fixtures', 'faces');
let root: string;

beforeAll(async () => {
  root = await tempDir();
  await mkdir(path.join(root, 'ref'));
  await mkdir(path.join(root, 'images'));
  await copyFile(path.join(FACES, 'astronaut.jpg'), path.join(root, 'ref', 'astronaut.jpg'));
  await writeFile(path.join(root, 'ref', 'astronaut-flip.png'), await editImage(path.join(FACES, 'astronaut.jpg'), { op: 'flip' }));
  await writeFile(path.join(root, 'images', 'portrait__s1.webp'), await editImage(path.join(FACES, 'astronaut.jpg'), { op: 'jpeg', quality: 40 }));
  await copyFile(path.join(FACES, 'grace_hopper.jpg'), path.join(root, 'images', 'portrait__s2.jpg'));
  await writeFile(path.join(root, 'images', 'portrait__s3.png'), 'not an image');
  await writeFile(path.join(root, 'images', 'notes.txt'), 'ignored: not an image file');
});

describe('harness score', () => {
  it('prints the JSON report, writes it with --out, and names the unreadable image', async () => {
    const result = await harness(['score', 'images', '--reference', 'ref', '--json', '--out', 'out/scores.json', '--workers', '2'], { cwd: root, timeout: 180_000 });
    expect(result.stderr).toContain('portrait__s3.png');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(JSON.parse(await readFile(path.join(root, 'out', 'scores.json'), 'utf8'))).toEqual(report);
    expect(report).toMatchObject({
      schemaVersion: 1,
      scorer: { version: expect.stringMatching(/^human-/) },
      reference: { count: 2, ceiling: { identity: { n: 2, total: 2 } } },
      summary: { identity: { n: 2, total: 3 } },
      missingCounts: { identity: { unreadable: 1 } },
    });
    expect(report.images.map((i: { file: string }) => i.file)).toEqual(['portrait__s1.webp', 'portrait__s2.jpg', 'portrait__s3.png']);
    const [same, other, broken] = report.images;
    for (const image of report.images) {
      expect(Object.keys(image)).toEqual(expect.arrayContaining(['file', 'sha256', 'identity', 'nose', 'neck', 'curls', 'face', 'missing']));
      expect(image.embedding).toBeUndefined();
    }
    expect(same.face).toBe(true);
    expect(same.identity).toBeGreaterThan(other.identity);
    expect(broken).toMatchObject({ face: false, identity: null, missing: { identity: 'unreadable' } });
    expect(Object.keys(report.perPrompt)).toEqual(['portrait']);
    expect(report.perPrompt.portrait.identity.ci95).toHaveLength(2);
  }, 200_000);

  it('a missing reference folder is a usage error that says what to pass', async () => {
    const result = await harness(['score', 'images', '--reference', 'nowhere'], { cwd: root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--reference: .*nowhere is not a folder/);
  });

  it('--help explains the scores and shows examples', async () => {
    const result = await harness(['score', '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('leave-one-out');
    expect(result.stdout).toContain('Examples:');
  });
});
