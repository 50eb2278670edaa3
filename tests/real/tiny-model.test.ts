// The tiny SDXL the harness builds itself (python/make_tiny_sdxl.py, with the CPU environment's Python): a
// rebuild gives the same bytes, whose digests are the ones experiments/demo.yaml pins; ensureBuiltModels
// places it in a hub cache like a pinned snapshot and refuses a pin that names other bytes.
import { execa } from 'execa';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadExperiment } from '../../harness/config/load.ts';
import type { ExperimentFile } from '../../harness/config/schema.ts';
import { HarnessError } from '../../harness/errors.ts';
import { ensureBuiltModels, treeDigest } from '../../harness/models/built.ts';
import { snapshotPath } from '../../harness/plan/planner.ts';
import { sha256File } from '../../harness/util/hash.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { DEMO_EXPERIMENT, realStack, type RealStack } from './stack.ts';

const BUILDER = path.join(REPO, 'python', 'make_tiny_sdxl.py');
const BUILD_TIMEOUT = 600_000;

let stack: RealStack;
let demo: ExperimentFile;

beforeAll(async () => {
  stack = await realStack();
  demo = (await loadExperiment(DEMO_EXPERIMENT)).config;
}, BUILD_TIMEOUT);

/** relative path → sha256 of every file under `dir` (hidden ones included: a stray file must show). */
async function fileHashes(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(out, await fileHashes(dir, rel));
    else out[rel] = await sha256File(path.join(dir, rel));
  }
  return out;
}

/** The builder run by hand, as its usage line says (the caller's own PYTHONHASHSEED, not the harness's). */
async function buildByHand(out: string): Promise<{ model: string; vae: string }> {
  const result = await execa(stack.python, [BUILDER, out], { env: { ...stack.env, CUDA_VISIBLE_DEVICES: '', PYTHONHASHSEED: undefined }, reject: false, timeout: BUILD_TIMEOUT });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

function withCommits(model: string, vae: string): ExperimentFile {
  return { ...demo, base: { ...demo.base, model: { ...demo.base.model, commit: model }, vae: { ...demo.base.vae, commit: vae } } };
}

describe('the tiny SDXL', () => {
  it(
    'built by hand and built by ensureBuiltModels: byte-identical files, whose digests are the pins of demo.yaml; the next call builds nothing',
    async () => {
      const byHand = await buildByHand(await tempDir('harness-tiny-'));
      expect(byHand).toEqual({ model: expect.stringMatching(/model$/), vae: expect.stringMatching(/vae$/) });
      const handModel = await fileHashes(byHand.model);
      // the pipeline's parts, each with weights or its tokenizer files
      expect(Object.keys(handModel)).toEqual(
        expect.arrayContaining([
          'model_index.json',
          'unet/diffusion_pytorch_model.safetensors',
          'vae/diffusion_pytorch_model.safetensors',
          'text_encoder/model.safetensors',
          'text_encoder_2/model.safetensors',
          'tokenizer/vocab.json',
          'tokenizer_2/merges.txt',
          'scheduler/scheduler_config.json',
        ]),
      );

      const hubCache = await tempDir('harness-hub-');
      const progress: string[] = [];
      const built = await ensureBuiltModels({ config: demo, hubCache, python: stack.python, env: { ...process.env, ...stack.env }, onProgress: (m) => progress.push(m) });
      expect(await fileHashes(built[0]!.dir)).toEqual(handModel);
      expect(await fileHashes(built[1]!.dir)).toEqual(await fileHashes(byHand.vae));
      expect(built.map((m) => m.dir)).toEqual([snapshotPath(hubCache, demo.base.model as { id: string; commit: string }), snapshotPath(hubCache, demo.base.vae as { id: string; commit: string })]);
      expect(built.map((m) => [m.role, m.commit, m.built])).toEqual([
        ['model', demo.base.model.commit, true],
        ['vae', demo.base.vae.commit, true],
      ]);
      expect(await treeDigest(byHand.model)).toBe(demo.base.model.commit);
      expect(await treeDigest(byHand.vae)).toBe(demo.base.vae.commit);
      expect(progress.join('\n')).toContain('building the tiny-sdxl model');
      // no scratch folder is left in the hub cache
      expect((await readdir(hubCache)).sort()).toEqual(['models--harness--tiny-sdxl', 'models--harness--tiny-sdxl-vae']);

      // present: the builder does not run (an interpreter that does not exist would fail it)
      const again = await ensureBuiltModels({ config: demo, hubCache, python: '/nonexistent/python3', env: process.env });
      expect(again.map((m) => [m.role, m.built])).toEqual([
        ['model', false],
        ['vae', false],
      ]);
    },
    BUILD_TIMEOUT,
  );

  it(
    'ensureBuiltModels refuses a pin that names other bytes, naming both digests, and places nothing in the hub cache',
    async () => {
      const hubCache = await tempDir('harness-hub-');
      const wrong = 'f'.repeat(40);
      const config = withCommits(wrong, demo.base.vae.commit!);
      const failure = await ensureBuiltModels({ config, hubCache, python: stack.python, env: { ...process.env, ...stack.env } }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(HarnessError);
      const error = failure as HarnessError;
      expect(error.message).toContain(`has digest ${demo.base.model.commit}`);
      expect(error.message).toContain(`pins base.model.commit ${wrong}`);
      expect(error.exitCode).toBe(2);
      expect(error.hint).toMatch(/requirements-cpu\.txt/);
      expect(await stat(snapshotPath(hubCache, { id: demo.base.model.id, commit: wrong })).catch(() => null)).toBeNull();
      expect(await stat(snapshotPath(hubCache, { id: demo.base.model.id, commit: demo.base.model.commit! })).catch(() => null)).toBeNull();
      expect(await readdir(hubCache)).toEqual([]);
    },
    BUILD_TIMEOUT,
  );
});
