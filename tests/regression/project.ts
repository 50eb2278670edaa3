// A throw-away project for regression tests: an experiment file, a run store with hand-written sample sets
// and score files (per the samples/scoring contracts), and the goldens folder the experiment points to.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadPlanContext, type PlanContext } from '../../harness/commands/context.ts';
import { findRun } from '../../harness/plan/planner.ts';
import type { SamplerEnv } from '../../harness/samples/protocol.ts';
import { samplingSpecFrom } from '../../harness/samples/spec.ts';
import type { SampleSetManifest, SamplingSpec } from '../../harness/samples/types.ts';
import type { ImageScore, ScoreReport } from '../../harness/scoring/types.ts';
import { runLayout, sampleFileName, sampleSetFiles } from '../../harness/store/layout.ts';
import { sha256 } from '../../harness/util/hash.ts';
import { REPO } from '../helpers/cli.ts';
import { MINIMAL_HEAD } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';

export const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'regression');
export const SCENES = ['portrait', 'garden'] as const;
export const SEEDS = [1, 2, 3] as const;

export const EXPERIMENT_YAML = `name: mini
${MINIMAL_HEAD}samples:
  prompts:
    - id: portrait
      prompt: a photo of TOK boy, portrait
    - id: garden
      prompt: a photo of TOK boy in a garden
  seeds: [1, 2, 3]
  steps: 4
  width: 64
  height: 64
`;

export const ENV_H100: SamplerEnv = {
  python: '3.11.9',
  torch: '2.5.1',
  torch_cuda_build: '12.4',
  diffusers: '0.40.0',
  transformers: '4.46.0',
  peft: '0.13.2',
  safetensors: '0.4.5',
  gpu: { name: 'NVIDIA H100 80GB HBM3', capability: '9.0', memory_mb: 81559, driver: '550.54.15' },
  device: 'cuda',
  dtype: 'fp16',
};

export const WEIGHTS_SHA = 'a'.repeat(64);

export interface Project {
  dir: string;
  experimentFile: string;
  storeRoot: string;
  goldensDir: string;
  runId: string;
  context: PlanContext;
  spec: SamplingSpec;
}

export async function makeProject(yaml = EXPERIMENT_YAML): Promise<Project> {
  const dir = await tempDir('harness-regression-');
  await mkdir(path.join(dir, 'experiments'), { recursive: true });
  const experimentFile = path.join(dir, 'experiments', 'mini.yaml');
  await writeFile(experimentFile, yaml);
  const context = await loadPlanContext({ experiment: experimentFile, cwd: dir, env: {} });
  const run = findRun(context.plan, 'baseline');
  if (!run) throw new Error('no baseline run planned');
  return {
    dir,
    experimentFile,
    storeRoot: context.storeRoot,
    goldensDir: context.experiment.goldensDir,
    runId: run.id,
    context,
    spec: samplingSpecFrom(context.experiment.config.samples),
  };
}

/** The PNG bytes of scene × seed: person a's crops, or b's for "another face". */
export async function faceBytes(person: 'a' | 'b', seed: number): Promise<Buffer> {
  return readFile(path.join(FIXTURES, `face-${person}-${seed}.png`));
}

export type Images = Map<string, Buffer>;
export const imageKey = (scene: string, seed: number) => `${scene}/${seed}`;

export async function personImages(person: 'a' | 'b'): Promise<Images> {
  const images: Images = new Map();
  for (const scene of SCENES) for (const seed of SEEDS) images.set(imageKey(scene, seed), await faceBytes(person, seed));
  return images;
}

export interface SetOptions {
  setId: string;
  images: Images;
  env?: SamplerEnv;
  spec?: SamplingSpec;
  createdAt?: string;
  weightsSha?: string;
}

/** What the sampler leaves behind for a complete set: the images and set.json. */
export async function writeSampleSet(project: Project, options: SetOptions): Promise<string> {
  const setDir = runLayout(project.storeRoot, 'mini', project.runId).sampleSet(options.setId);
  await mkdir(setDir, { recursive: true });
  const spec = options.spec ?? project.spec;
  const images: SampleSetManifest['images'] = [];
  for (const prompt of spec.prompts) {
    for (const seed of spec.seeds) {
      const bytes = options.images.get(imageKey(prompt.id, seed));
      if (!bytes) continue;
      const file = sampleFileName(prompt.id, seed);
      await writeFile(path.join(setDir, file), bytes);
      images.push({ promptId: prompt.id, seed, file, sha256: sha256(bytes), width: spec.width, height: spec.height });
    }
  }
  const manifest: SampleSetManifest = {
    schemaVersion: 1,
    setId: options.setId,
    runId: project.runId,
    experiment: 'mini',
    weights: { kind: 'final', path: 'output/pytorch_lora_weights.safetensors', sha256: options.weightsSha ?? WEIGHTS_SHA },
    spec,
    model: { id: 'org/base', commit: '0123456789abcdef0123456789abcdef01234567' },
    vae: { id: 'org/vae', commit: '89abcdef0123456789abcdef0123456789abcdef' },
    images,
    env: { ...(options.env ?? ENV_H100) },
    createdAt: options.createdAt ?? '2026-11-20T10:00:00.000Z',
  };
  await writeFile(sampleSetFiles(setDir).manifest, JSON.stringify(manifest, null, 2));
  return setDir;
}

/** Synthetic per-seed scores and embeddings: test data about the drift and shift maths. */
export const PERSON_SCORES: Record<'a' | 'b', { identity: number[]; curls: number[]; nose: number[]; neck: number[]; embedding: (seed: number) => number[] }> = {
  a: {
    identity: [0.8, 0.76, 0.84],
    curls: [0.6, 0.55, 0.65],
    nose: [0.7, 0.72, 0.68],
    neck: [0.5, 0.58, 0.54],
    embedding: (seed) => [1, 0.2, 0.02 * seed, 0, 0.1, 0, 0, 0],
  },
  b: {
    identity: [0.25, 0.3, 0.22],
    curls: [0.2, 0.1, 0.15],
    nose: [0.3, 0.35, 0.32],
    neck: [0.2, 0.25, 0.22],
    embedding: (seed) => [0, 0, 1, 0.3, 0, 0.2, 0.01 * seed, 0],
  },
};

export function imageScores(person: 'a' | 'b', jitter = 0): ImageScore[] {
  const table = PERSON_SCORES[person];
  const out: ImageScore[] = [];
  for (const scene of SCENES) {
    for (const [i, seed] of SEEDS.entries()) {
      const wobble = (k: number) => jitter * Math.sin(seed * 7 + k);
      out.push({
        file: sampleFileName(scene, seed),
        sha256: '',
        identity: table.identity[i]! + wobble(1),
        curls: table.curls[i]! + wobble(2),
        nose: table.nose[i]! + wobble(3),
        neck: table.neck[i]! + wobble(4),
        face: true,
        missing: {},
        embedding: table.embedding(seed).map((v, k) => v + wobble(k)),
      });
    }
  }
  return out;
}

export async function writeScores(project: Project, setId: string, images: ImageScore[], scorerVersion = 'human-3.3.6+features-1'): Promise<void> {
  const file = runLayout(project.storeRoot, 'mini', project.runId).scores(setId);
  await mkdir(path.dirname(file), { recursive: true });
  const empty = { mean: null, median: null, ci95: null, n: 0, total: images.length };
  const report: ScoreReport = {
    schemaVersion: 1,
    scorer: { version: scorerVersion, models: {} },
    reference: { count: 3, ceiling: {} },
    images,
    summary: { identity: empty, curls: empty, nose: empty, neck: empty },
  };
  await writeFile(file, JSON.stringify(report, null, 2));
}
