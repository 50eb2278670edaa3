// `harness score` says how far it is on a terminal: images done, images/s, ETA and the workers it chose.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scoreProgress } from '../../harness/cli/score.ts';
import { makeStyle } from '../../harness/cli/style.ts';
import type { Io } from '../../harness/cli/io.ts';
import { score, type ScoreProgress } from '../../harness/commands/score.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const FACES = path.join(REPO, 'tests', 'fixtures', 'faces');

function fakeIo(isTTY: boolean): Io & { err: string[] } {
  const err: string[] = [];
  return {
    cwd: '/',
    env: {},
    stdout: { write: () => true },
    stderr: { isTTY, columns: 100, write: (chunk: string) => err.push(chunk) },
    style: makeStyle(false, {}),
    err,
  };
}

describe('score progress', () => {
  it('draws one live line on a terminal with images done, images/s and ETA, and clears it at the end', () => {
    const io = fakeIo(true);
    let clock = 0;
    const progress = scoreProgress(io, () => clock);
    progress.update({ done: 0, total: 10, workers: 2 });
    clock = 1000;
    progress.update({ done: 2, total: 10, workers: 2 });
    clock = 1100; // within a quarter second: not drawn again
    progress.update({ done: 3, total: 10, workers: 2 });
    clock = 2500;
    progress.update({ done: 10, total: 10, workers: 2 });
    progress.finish();
    expect(io.err).toEqual([
      '\r\u001b[Kscoring 0/10 images · 2 workers',
      '\r\u001b[Kscoring 2/10 images · 2.0 images/s · ETA 4s · 2 workers',
      '\r\u001b[Kscoring 10/10 images · 4.0 images/s · ETA 0s · 2 workers',
      '\r\u001b[K',
    ]);
  });

  it('prints one plain line per reference photo and per image when stderr is not a terminal (logs, notebooks)', () => {
    const io = fakeIo(false);
    let clock = 0;
    const progress = scoreProgress(io, () => clock);
    progress.reference({ done: 1, total: 1, file: 'ref.png' });
    progress.update({ done: 0, total: 2, workers: 1 });
    clock = 1000;
    progress.update({ done: 1, total: 2, workers: 1 });
    clock = 2000;
    progress.update({ done: 2, total: 2, workers: 1 });
    progress.finish();
    expect(io.err).toEqual(['reference 1/1 ref.png\n', 'scored 1/2 1.0 images/s · ETA 1s\n', 'scored 2/2 1.0 images/s · ETA 0s\n']);
  });

  it('is told by the score command after each image, from 0 to all of them', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'ref'));
    await mkdir(path.join(root, 'images'));
    await copyFile(path.join(FACES, 'astronaut.jpg'), path.join(root, 'ref', 'astronaut.jpg'));
    for (const name of ['astronaut', 'grace_hopper', 'camera']) await copyFile(path.join(FACES, `${name}.jpg`), path.join(root, 'images', `${name}__s1.jpg`));
    const seen: ScoreProgress[] = [];
    await score({ images: 'images', reference: 'ref', cwd: root, env: {}, workers: 1, onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.done)).toEqual([0, 1, 2, 3]);
    expect(seen.every((p) => p.total === 3 && p.workers === 1)).toBe(true);
  }, 120_000);
});
