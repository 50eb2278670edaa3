// `harness check` end to end: real CLI, real temp store and goldens, fixture images, hand-written sets.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, editImage, encodeImage } from '../../harness/image/index.ts';
import { acceptGolden } from '../../harness/regression/accept.ts';
import { checkRun } from '../../harness/regression/check-run.ts';
import { findCurrentSet } from '../../harness/regression/locate.ts';
import type { CheckReport } from '../../harness/regression/types.ts';
import { checksLayout, goldenLayout } from '../../harness/store/layout.ts';
import { harness } from '../helpers/cli.ts';
import {
  ENV_H100,
  EXPERIMENT_YAML,
  imageKey,
  imageScores,
  makeProject,
  personImages,
  writeSampleSet,
  writeScores,
  type Images,
  type Project,
} from './project.ts';

const GOLDEN_SET = 'final-golden0001';

/** A project whose baseline has a scored set of person a, accepted as goldens (through the CLI, or directly). */
async function acceptedProject(options: { cli?: boolean } = {}): Promise<Project> {
  const project = await makeProject();
  await writeSampleSet(project, { setId: GOLDEN_SET, images: await personImages('a') });
  await writeScores(project, GOLDEN_SET, imageScores('a'));
  if (options.cli) {
    const accepted = await harness(['check', project.experimentFile, '--accept', '--json'], { cwd: project.dir });
    expect(accepted.stderr).toBe('');
    expect(accepted.exitCode).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({ schemaVersion: 1, variant: 'baseline', setId: GOLDEN_SET, images: 6, scored: true, replaced: null });
  } else {
    const { experiment, storeRoot, plan } = project.context;
    await acceptGolden({ experiment, storeRoot, plan, scoreMissing: false });
  }
  return project;
}

/** A newer current set of the same run, with its scores. */
async function newerSet(
  project: Project,
  options: { setId: string; images: Images; env?: typeof ENV_H100; scores?: ReturnType<typeof imageScores> | null; createdAt?: string },
) {
  await writeSampleSet(project, { setId: options.setId, images: options.images, env: options.env ?? ENV_H100, createdAt: options.createdAt ?? '2026-11-25T10:00:00.000Z' });
  if (options.scores !== null) await writeScores(project, options.setId, options.scores ?? imageScores('a'));
}

function runCheck(project: Project, tier?: CheckReport['tier']): Promise<CheckReport> {
  const { experiment, storeRoot, plan } = project.context;
  return checkRun({ experiment, storeRoot, plan, ...(tier ? { tier } : {}), scoreMissing: false });
}

async function withOnePixelChanged(images: Images): Promise<Images> {
  const out = new Map(images);
  const raw = await decodeImage(images.get(imageKey('portrait', 2))!);
  const data = raw.data.slice();
  data.set([255, 0, 255], (20 * raw.width + 30) * 3);
  out.set(imageKey('portrait', 2), await encodeImage({ ...raw, data }, 'png'));
  return out;
}

async function jpegRoundTrip(images: Images, quality: number): Promise<Images> {
  const out: Images = new Map();
  for (const [key, bytes] of images) out.set(key, await encodeImage(await decodeImage(await editImage(bytes, { op: 'jpeg', quality })), 'png'));
  return out;
}

describe('harness check --accept', () => {
  it('writes images, set.json, scores and the environment fingerprint; checking right after passes at the exact tier', async () => {
    const project = await acceptedProject({ cli: true });
    const golden = goldenLayout(project.goldensDir, 'baseline');
    expect(project.goldensDir).toBe(path.join(project.dir, 'experiments', 'goldens', 'mini'));
    const manifest = JSON.parse(await readFile(golden.manifest, 'utf8'));
    expect(manifest).toMatchObject({ schemaVersion: 1, experiment: 'mini', variant: 'baseline', setId: GOLDEN_SET, runId: project.runId });
    expect(manifest.fingerprint).toMatchObject({
      gpu: { name: 'NVIDIA H100 80GB HBM3', capability: '9.0', driver: '550.54.15' },
      cudaBuild: '12.4',
      torch: '2.5.1',
      diffusers: '0.40.0',
      scriptSha256: '88ffa83ccf7f45fb79fb7fc7fd23bf49ba87a5ba8b011ae295dd0b57fdd5ddfa',
      model: { id: 'org/base', commit: '0123456789abcdef0123456789abcdef01234567' },
      weightsSha256: 'a'.repeat(64),
      sampler: { device: 'cuda', dtype: 'fp16' },
    });
    expect((await readdir(golden.imagesDir)).sort()).toHaveLength(6);
    expect(JSON.parse(await readFile(golden.scores, 'utf8')).images[0].embedding).toHaveLength(8);
    expect(JSON.parse(await readFile(golden.set, 'utf8')).setId).toBe(GOLDEN_SET);

    const result = await harness(['check', project.experimentFile], { cwd: project.dir });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('tier exact: same stack and GPU');
    expect(result.stdout).toMatch(/portrait\s+1\s+exact\s+mismatch 0\.00% · max Δ 0\s+pass/);
    const written = JSON.parse(await readFile(checksLayout(project.storeRoot, 'mini').report('baseline'), 'utf8')) as CheckReport;
    expect(written).toMatchObject({ schemaVersion: 1, verdict: 'pass', tier: 'exact', goldenSetId: GOLDEN_SET, sampleSetId: GOLDEN_SET });
    expect(written.images).toHaveLength(6);
    expect(written.scenes.map((s) => s.promptId)).toEqual(['portrait', 'garden']);
  });
});

describe('harness check tiers', () => {
  it('a one-pixel change is caught at the exact tier (exit 1, diff image) and passes at the perceptual tier', async () => {
    const project = await acceptedProject();
    await newerSet(project, { setId: 'final-onepixel01', images: await withOnePixelChanged(await personImages('a')) });
    const exact = await harness(['check', project.experimentFile, '--json'], { cwd: project.dir });
    expect(exact.exitCode).toBe(1);
    const report = JSON.parse(exact.stdout) as CheckReport;
    expect(report).toMatchObject({ tier: 'exact', verdict: 'regression', sampleSetId: 'final-onepixel01' });
    const failed = report.images.filter((i) => i.verdict !== 'pass');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ promptId: 'portrait', seed: 2, metrics: { mismatchRatio: 1 / 4096 } });
    expect(failed[0]!.metrics.maxChannelDiff).toBeGreaterThan(8);
    const diff = path.join(checksLayout(project.storeRoot, 'mini').dir, failed[0]!.diff!);
    expect((await decodeImage(diff)).width).toBe(64);

    const perceptual = await harness(['check', project.experimentFile, '--tier', 'perceptual'], { cwd: project.dir });
    expect(perceptual.exitCode).toBe(0);
    expect(perceptual.stdout).toContain('forced by --tier perceptual (the fingerprints give exact');
    // the diff of the failed exact check does not outlive it
    await expect(readdir(checksLayout(project.storeRoot, 'mini').diffsDir('baseline'))).rejects.toThrow();
  });

  it('a different face fails every tier', async () => {
    const project = await acceptedProject();
    await newerSet(project, { setId: 'final-otherface1', images: await personImages('b'), scores: imageScores('b') });
    for (const tier of ['exact', 'perceptual', 'statistical'] as const) {
      const report = await runCheck(project, tier);
      expect(report.verdict, tier).toBe('regression');
      expect(report.images.every((i) => i.verdict === 'regression'), tier).toBe(true);
    }
    const perceptual = await runCheck(project, 'perceptual');
    expect(perceptual.images[0]!.metrics.embeddingDrift).toBeGreaterThan(0.5);
    expect(perceptual.images[0]!.metrics.ssim).toBeLessThan(0.5);
    const statistical = await runCheck(project, 'statistical');
    expect(statistical.scenes.every((s) => s.verdict === 'regression')).toBe(true);
    expect(statistical.scenes[0]!.metrics['identity.shiftSe']).toBeLessThan(-3);

    const cli = await harness(['check', project.experimentFile, '--tier', 'statistical'], { cwd: project.dir });
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toMatch(/identity mean moved −\d+\.\d SE/);
  });

  it('a JPEG-like re-encoding fails the exact tier and passes the perceptual one', async () => {
    const project = await acceptedProject();
    await newerSet(project, { setId: 'final-jpegq8001', images: await jpegRoundTrip(await personImages('a'), 80), scores: imageScores('a', 0.01) });
    const exact = await runCheck(project, 'exact');
    expect(exact.verdict).toBe('regression');
    const perceptual = await runCheck(project, 'perceptual');
    expect(perceptual.verdict).toBe('pass');
    for (const image of perceptual.images) {
      expect(image.metrics.ssim).toBeGreaterThan(0.9);
      expect(image.metrics.ssim).toBeLessThan(1);
      expect(image.metrics.embeddingDrift).toBeGreaterThan(0);
      expect(image.metrics.embeddingDrift).toBeLessThan(0.1);
    }
    expect((await runCheck(project, 'statistical')).verdict).toBe('pass');
  });

  it('a fingerprint change moves the tier, and the report says which fields moved it', async () => {
    const project = await acceptedProject();
    const images = await jpegRoundTrip(await personImages('a'), 80);
    await newerSet(project, { setId: 'final-torch2601', images, env: { ...ENV_H100, torch: '2.6.0' }, scores: imageScores('a', 0.01) });
    const perceptual = await harness(['check', project.experimentFile, '--json'], { cwd: project.dir });
    const report = JSON.parse(perceptual.stdout) as CheckReport;
    expect(perceptual.exitCode).toBe(0);
    expect(report).toMatchObject({ tier: 'perceptual', tierForced: false, differences: [{ field: 'torch', golden: '2.5.1', current: '2.6.0' }] });
    expect(report.tierReason).toContain('torch 2.5.1 → 2.6.0');

    const p100 = { ...ENV_H100, gpu: { name: 'Tesla P100-PCIE-16GB', capability: '6.0', memory_mb: 16280, driver: '535.104.05' } };
    await newerSet(project, { setId: 'final-p100gpu01', images: await personImages('b'), env: p100, scores: imageScores('a', 0.01), createdAt: '2026-11-26T10:00:00.000Z' });
    const statistical = await harness(['check', project.experimentFile], { cwd: project.dir });
    expect(statistical.stdout).toContain('tier statistical: another GPU architecture (gpu.capability 9.0 → 6.0');
    // other pixels, same score distribution: the statistical tier judges scores only
    expect(statistical.exitCode).toBe(0);
  });
});

/** Person a's images with `edit` applied to the RGB bytes of one image (or of every image). */
async function editPixels(only: string | 'all', edit: (data: Uint8Array, width: number) => void): Promise<Images> {
  const out: Images = new Map();
  for (const [key, bytes] of await personImages('a')) {
    if (only !== 'all' && key !== only) {
      out.set(key, bytes);
      continue;
    }
    const raw = await decodeImage(bytes);
    const data = raw.data.slice();
    edit(data, raw.width);
    out.set(key, await encodeImage({ ...raw, data }, 'png'));
  }
  return out;
}

/** A ±amplitude luma checkerboard: every pixel moves by `amplitude`, below pixelmatch's threshold, but the texture changes. */
const checkerboard = (amplitude: number) => (data: Uint8Array, width: number) => {
  for (let i = 0; i < data.length / 3; i++) {
    const d = ((i % width) + Math.floor(i / width)) % 2 ? amplitude : -amplitude;
    for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.max(0, Math.min(255, data[i * 3 + c]! + d));
  }
};

/** Person a's scores, with one image's embedding turned away from the golden's by 1 − cos = `drift`. */
function driftedScores(file: string, drift: number): ReturnType<typeof imageScores> {
  return imageScores('a').map((score) => {
    if (score.file !== file) return score;
    const e = score.embedding!;
    const length = Math.hypot(...e);
    // e has no component on the last axis: rotate toward it
    const turned = e.map((v) => (v / length) * (1 - drift));
    turned[e.length - 1] = Math.sqrt(1 - (1 - drift) ** 2);
    return { ...score, embedding: turned };
  });
}

describe('each tier criterion decides on its own', () => {
  // Every other criterion is left well within its limit, so removing the one under test (or loosening
  // it ×10) turns the verdict to pass. Default tolerances: exact mismatch 0.1 %, max Δ 8; perceptual
  // mismatch 5 %, SSIM ≥ 0.9, embedding drift ≤ 0.1.
  it('exact: the mismatch ratio alone (20 of 4096 pixels off by 4, under the channel limit) is a regression; 2 pixels are not', async () => {
    const nudge = (count: number) => (data: Uint8Array) => {
      for (let p = 0; p < count; p++) data[(p * 97 + 5) * 3] = Math.min(255, data[(p * 97 + 5) * 3]! + 4);
    };
    const project = await acceptedProject();
    await newerSet(project, { setId: 'final-nudged0020', images: await editPixels(imageKey('garden', 1), nudge(20)) });
    const report = await runCheck(project, 'exact');
    expect(report.verdict).toBe('regression');
    const failed = report.images.filter((i) => i.verdict !== 'pass');
    expect(failed.map((i) => `${i.promptId}/${i.seed}`)).toEqual(['garden/1']);
    expect(failed[0]!.metrics).toEqual({ mismatchRatio: 20 / 4096, maxChannelDiff: 4 });
    expect(failed[0]!.note).toBe('0.49% of pixels differ (limit 0.10%)');

    await newerSet(project, { setId: 'final-nudged0002', images: await editPixels(imageKey('garden', 1), nudge(2)), createdAt: '2026-11-26T10:00:00.000Z' });
    const few = await runCheck(project, 'exact');
    expect(few.sampleSetId).toBe('final-nudged0002');
    expect(few.verdict).toBe('pass');
    expect(few.images.find((i) => i.promptId === 'garden' && i.seed === 1)!.metrics.mismatchRatio).toBe(2 / 4096);
  });

  it('perceptual: SSIM alone (a ±12 checkerboard: no pixel over the threshold, same faces) is a regression; ±3 is not', async () => {
    const project = await acceptedProject();
    await newerSet(project, { setId: 'final-checker012', images: await editPixels('all', checkerboard(12)) });
    const report = await runCheck(project, 'perceptual');
    expect(report.verdict).toBe('regression');
    for (const image of report.images) {
      expect(image.verdict).toBe('regression');
      expect(image.metrics.ssim).toBeLessThan(0.9);
      expect(image.metrics.mismatchRatio).toBe(0);
      expect(image.metrics.embeddingDrift).toBeCloseTo(0, 12);
      expect(image.note).toMatch(/^SSIM 0\.\d{3} < 0\.9$/);
    }

    await newerSet(project, { setId: 'final-checker003', images: await editPixels('all', checkerboard(3)), createdAt: '2026-11-26T10:00:00.000Z' });
    const faint = await runCheck(project, 'perceptual');
    expect(faint.verdict).toBe('pass');
    for (const image of faint.images) expect(image.metrics.ssim).toBeGreaterThan(0.9);
  });

  it('perceptual: the embedding drift alone (0.3 on one image, same pixels) is a regression; 0.05 is not', async () => {
    const project = await acceptedProject();
    const file = 'portrait__s2.png';
    await newerSet(project, { setId: 'final-drift03000', images: await personImages('a'), scores: driftedScores(file, 0.3) });
    const report = await runCheck(project, 'perceptual');
    expect(report.verdict).toBe('regression');
    const failed = report.images.filter((i) => i.verdict !== 'pass');
    expect(failed.map((i) => `${i.promptId}/${i.seed}`)).toEqual(['portrait/2']);
    expect(failed[0]!.metrics).toMatchObject({ mismatchRatio: 0, ssim: 1 });
    expect(failed[0]!.metrics.embeddingDrift).toBeCloseTo(0.3, 9);
    expect(failed[0]!.note).toBe('face embedding drifted 0.300 (limit 0.1)');

    await newerSet(project, { setId: 'final-drift00500', images: await personImages('a'), scores: driftedScores(file, 0.05), createdAt: '2026-11-26T10:00:00.000Z' });
    const slight = await runCheck(project, 'perceptual');
    expect(slight.verdict).toBe('pass');
    expect(slight.images.find((i) => i.promptId === 'portrait' && i.seed === 2)!.metrics.embeddingDrift).toBeCloseTo(0.05, 9);
  });

  it('perceptual: a face lost alone (same pixels, no face found in one image) is a regression', async () => {
    const project = await acceptedProject();
    const lost = imageScores('a').map((score) =>
      score.file === 'garden__s3.png' ? { ...score, identity: null, nose: null, face: false, missing: { identity: 'no_face' as const, nose: 'no_face' as const }, embedding: undefined } : score,
    );
    await newerSet(project, { setId: 'final-facelost1', images: await personImages('a'), scores: lost });
    const report = await runCheck(project, 'perceptual');
    expect(report.verdict).toBe('regression');
    const failed = report.images.filter((i) => i.verdict !== 'pass');
    expect(failed.map((i) => `${i.promptId}/${i.seed}`)).toEqual(['garden/3']);
    expect(failed[0]!.metrics).toMatchObject({ mismatchRatio: 0, ssim: 1, embeddingDrift: null });
    expect(failed[0]!.note).toBe('no face found where the golden image has one');
  });
});

describe('which set is current', () => {
  it('the newest final-weights set rendered with the current samples: spec; checkpoints and other specs are ignored', async () => {
    const project = await makeProject();
    const images = await personImages('a');
    await writeSampleSet(project, { setId: 'final-older00001', images, createdAt: '2026-11-01T00:00:00.000Z' });
    await writeSampleSet(project, { setId: 'final-newer00001', images, createdAt: '2026-11-02T00:00:00.000Z' });
    const otherSpec = { ...project.spec, steps: 9 };
    await writeSampleSet(project, { setId: 'final-otherspec1', images, spec: otherSpec, createdAt: '2026-11-03T00:00:00.000Z' });
    const ckptDir = await writeSampleSet(project, { setId: 'ckpt10-newest001', images, createdAt: '2026-11-04T00:00:00.000Z' });
    const manifestFile = path.join(ckptDir, 'set.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    await writeFile(manifestFile, JSON.stringify({ ...manifest, weights: { kind: 'checkpoint', step: 10, path: 'x', sha256: 'c'.repeat(64) } }));
    await mkdir(path.join(path.dirname(ckptDir), 'final-incomplete'), { recursive: true }); // no set.json yet: still rendering
    const found = await findCurrentSet({
      storeRoot: project.storeRoot,
      experiment: 'mini',
      experimentFile: 'experiments/mini.yaml',
      runId: project.runId,
      variant: 'baseline',
      provisional: false,
      spec: project.spec,
    });
    expect(found.manifest.setId).toBe('final-newer00001');
  });
});

describe('harness check errors', () => {
  it('a missing golden image is exit 2 (nothing to compare), naming the file', async () => {
    const project = await acceptedProject();
    const golden = goldenLayout(project.goldensDir, 'baseline');
    await rm(golden.image('garden__s3.png'));
    const result = await harness(['check', project.experimentFile], { cwd: project.dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('1 golden image(s) of "baseline" missing or damaged');
    expect(result.stderr).toContain(`${golden.image('garden__s3.png')}: missing`);
    expect(result.stderr).toContain('--accept');
  });

  it('a golden image overwritten after --accept is exit 2, naming the file: its sha256 no longer matches golden.json', async () => {
    const project = await acceptedProject();
    const golden = goldenLayout(project.goldensDir, 'baseline');
    // the changed image of a newer set copied over its golden: compared with itself it would pass
    const changed = await withOnePixelChanged(await personImages('a'));
    await newerSet(project, { setId: 'final-onepixel01', images: changed });
    await writeFile(golden.image('portrait__s2.png'), changed.get(imageKey('portrait', 2))!);
    const result = await harness(['check', project.experimentFile, '--json'], { cwd: project.dir });
    expect(result.exitCode).toBe(2);
    // --json: the failure is the JSON error envelope on stdout
    const { error } = JSON.parse(result.stdout);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('1 golden image(s) of "baseline" missing or damaged');
    expect(error.message).toContain(`${golden.image('portrait__s2.png')}: changed since it was accepted (sha256 differs from golden.json)`);
    await expect(readFile(checksLayout(project.storeRoot, 'mini').report('baseline'))).rejects.toThrow(/ENOENT/);
  });

  it('a current set missing an image is never a pass, at any tier', async () => {
    const project = await acceptedProject();
    const images = await personImages('a');
    images.delete(imageKey('garden', 2));
    await newerSet(project, { setId: 'final-fiveimages', images, scores: imageScores('a').filter((s) => s.file !== 'garden__s2.png') });
    for (const tier of ['exact', 'perceptual', 'statistical'] as const) {
      const report = await runCheck(project, tier);
      expect(report.sampleSetId, tier).toBe('final-fiveimages');
      expect(report.verdict, tier).toBe('regression');
      const notPassed = report.images.filter((i) => i.verdict !== 'pass');
      expect(notPassed.map((i) => [i.promptId, i.seed, i.verdict, i.note]), tier).toEqual([['garden', 2, 'missing', 'not in the current sample set']]);
    }
    // listed in set.json but gone from disk: missing too, for the tiers that read pixels
    await rm(path.join(project.storeRoot, 'mini', project.runId, 'samples', 'final-fiveimages', 'portrait__s1.png'));
    const unreadable = await runCheck(project, 'perceptual');
    expect(unreadable.verdict).toBe('regression');
    expect(unreadable.images.find((i) => i.promptId === 'portrait' && i.seed === 1)).toMatchObject({ verdict: 'missing', note: expect.stringContaining('current image unreadable') });
    const cli = await harness(['check', project.experimentFile, '--tier', 'exact'], { cwd: project.dir });
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toContain('regression: 2 of 6 images');
  });

    it('no goldens at all is exit 2 with the command that accepts them; a damaged golden.json too', async () => {
    const project = await makeProject();
    await writeSampleSet(project, { setId: GOLDEN_SET, images: await personImages('a') });
    const none = await harness(['check', project.experimentFile], { cwd: project.dir });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('no goldens for variant "baseline"');
    expect(none.stderr).toContain('harness check experiments/mini.yaml --accept');

    await harness(['check', project.experimentFile, '--accept', '--no-score'], { cwd: project.dir });
    await writeFile(goldenLayout(project.goldensDir, 'baseline').manifest, '{ not json');
    const damaged = await harness(['check', project.experimentFile], { cwd: project.dir });
    expect(damaged.exitCode).toBe(2);
    expect(damaged.stderr).toContain('golden.json is not valid JSON');
  });

  it('a changed sampling spec is a usage error (exit 2) naming the fields, not a regression', async () => {
    const project = await acceptedProject();
    const changed = EXPERIMENT_YAML.replace('steps: 4', 'steps: 8').replace('seeds: [1, 2, 3]', 'seeds: [1, 2, 4]');
    await writeFile(project.experimentFile, changed);
    const result = await harness(['check', project.experimentFile], { cwd: project.dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("the experiment's samples: settings differ from the goldens");
    expect(result.stderr).toContain('steps: golden 4, experiment 8');
    expect(result.stderr).toContain('seeds: golden [1,2,3], experiment [1,2,4]');
  });

  it('goldens without scores cannot be checked beyond the exact tier (exit 2); a set without scores with --no-score is exit 2', async () => {
    const project = await makeProject();
    await writeSampleSet(project, { setId: GOLDEN_SET, images: await personImages('a') });
    const accept = await harness(['check', project.experimentFile, '--accept', '--no-score'], { cwd: project.dir });
    expect(accept.exitCode).toBe(0);
    expect(accept.stdout).toContain('accepted without scores');
    const perceptual = await harness(['check', project.experimentFile, '--tier', 'perceptual'], { cwd: project.dir });
    expect(perceptual.exitCode).toBe(2);
    expect(perceptual.stderr).toContain('have no scores');

    const scored = await acceptedProject();
    await newerSet(scored, { setId: 'final-unscored1', images: await personImages('a'), scores: null });
    const unscored = await harness(['check', scored.experimentFile, '--tier', 'statistical', '--no-score'], { cwd: scored.dir });
    expect(unscored.exitCode).toBe(2);
    expect(unscored.stderr).toContain('final-unscored1 has no scores');
  });

  it('--help teaches the tiers, the tolerances and the exit codes', async () => {
    const help = await harness(['check', '--help']);
    expect(help.exitCode).toBe(0);
    for (const text of ['--accept', '--tier <tier>', 'perceptual.min_ssim', 'statistical.max_mean_shift_se', '2   nothing to compare: no goldens', 'Examples:']) {
      expect(help.stdout).toContain(text);
    }
  });

  it('nothing sampled for the variant, an unknown variant and a bad --tier are usage errors', async () => {
    const project = await acceptedProject();
    const variant = await harness(['check', project.experimentFile, '--variant', 'baselin'], { cwd: project.dir });
    expect(variant.exitCode).toBe(2);
    expect(variant.stderr).toContain('variant "baselin" is not planned by experiments/mini.yaml (did you mean "baseline"?)');
    const tier = await harness(['check', project.experimentFile, '--tier', 'loose'], { cwd: project.dir });
    expect(tier.exitCode).toBe(2);
    expect(tier.stderr).toContain('--tier must be one of exact, perceptual, statistical');
    await rm(path.join(project.storeRoot, 'mini', project.runId, 'samples'), { recursive: true });
    const nothing = await harness(['check', project.experimentFile], { cwd: project.dir });
    expect(nothing.exitCode).toBe(2);
    expect(nothing.stderr).toContain('nothing to check for variant "baseline"');
  });
});
