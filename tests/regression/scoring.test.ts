// A set with no scores yet is scored with the real scoring API (face models on CPU) when a golden or a
// tier needs scores; the report is kept in the store, never invented.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { goldenLayout, runLayout } from '../../harness/store/layout.ts';
import { harness, REPO } from '../helpers/cli.ts';
import { EXPERIMENT_YAML, makeProject, personImages, writeSampleSet } from './project.ts';

it('accept scores an unscored set with the scoring API, and a perceptual check then uses the embeddings', async () => {
  const reference = path.join(REPO, 'tests', 'fixtures', 'faces');
  const project = await makeProject(`${EXPERIMENT_YAML}scoring:\n  reference: ${JSON.stringify(reference)}\n`);
  await writeSampleSet(project, { setId: 'final-unscored01', images: await personImages('a') });
  const accept = await harness(['check', project.experimentFile, '--accept'], { cwd: project.dir, timeout: 240_000 });
  expect(accept.stderr).toBe('');
  expect(accept.exitCode).toBe(0);
  expect(accept.stdout).toContain('scores included');

  const stored = JSON.parse(await readFile(runLayout(project.storeRoot, 'mini', project.runId).scores('final-unscored01'), 'utf8'));
  const golden = JSON.parse(await readFile(goldenLayout(project.goldensDir, 'baseline').scores, 'utf8'));
  expect(golden).toEqual(stored);
  expect(stored.images).toHaveLength(6);
  for (const image of stored.images) {
    expect(image.face).toBe(true);
    expect(typeof image.identity).toBe('number');
    expect(image.embedding.length).toBeGreaterThan(100);
  }

  const check = await harness(['check', project.experimentFile, '--tier', 'perceptual', '--json'], { cwd: project.dir, timeout: 240_000 });
  expect(check.exitCode).toBe(0);
  const report = JSON.parse(check.stdout);
  expect(report.images.every((i: { metrics: { embeddingDrift: number } }) => i.metrics.embeddingDrift === 0)).toBe(true);
}, 300_000);
