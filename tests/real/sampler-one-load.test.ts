// One SDXL load per run on the real stack (tiny SDXL, the real StableDiffusionXLPipeline, LoRA weights from
// the real diffusers script): the final, checkpoint and control sets rendered by one sampler process that
// swaps LoRA weights must give the very bytes that one fresh process per set gives, also when the process is
// killed (-9) in the middle of a set and sampling is run again.
import { execa } from 'execa';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlanContext, type PlanContext } from '../../harness/commands/context.ts';
import { SamplingFailedError } from '../../harness/samples/failure.ts';
import type { SamplerJobSpec } from '../../harness/samples/protocol.ts';
import { DEFAULT_SAMPLER_SCRIPT, type SampleProgress } from '../../harness/samples/render.ts';
import { sampleRun, type SampleRunResult } from '../../harness/samples/run.ts';
import { readJsonLines } from '../../harness/store/atomic.ts';
import { controlLayout, runLayout, sampleSetFiles } from '../../harness/store/layout.ts';
import { sha256 } from '../../harness/util/hash.ts';
import { harness } from '../helpers/cli.ts';
import { demoWorkspace, realStack, type DemoWorkspace, type RealStack } from './stack.ts';

const SLOW = 240_000;

let stack: RealStack;
let ws: DemoWorkspace;
let context: PlanContext;
let env: NodeJS.ProcessEnv;

/** sha256 of every PNG of every set, keyed `<set-id>/<file>` */
async function pngHashes(sets: { setId: string; dir: string }[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const set of sets) {
    for (const file of (await readdir(set.dir)).filter((f) => f.endsWith('.png')).sort()) out[`${set.setId}/${file}`] = sha256(await readFile(path.join(set.dir, file)));
  }
  return out;
}

function sample(extra: { onProgress?: (p: SampleProgress) => void } = {}): Promise<SampleRunResult> {
  const run = context.plan.runs.find((r) => r.variant === 'baseline')!;
  return sampleRun({ context, run, python: stack.python, device: 'cpu', env, cwd: ws.root, ...extra });
}

async function clearSamples(): Promise<void> {
  const run = context.plan.runs.find((r) => r.variant === 'baseline')!;
  await rm(runLayout(ws.store, 'demo', run.id).samplesDir, { recursive: true, force: true });
  await rm(controlLayout(ws.store, 'demo').samplesDir, { recursive: true, force: true });
}

beforeAll(async () => {
  stack = await realStack();
  // small: 6 steps with a checkpoint at 3 (on an epoch boundary), two images per set
  ws = await demoWorkspace((yaml) =>
    yaml
      .replace('max_train_steps: 12', 'max_train_steps: 6')
      .replace(/checkpointing_steps: 6\b/, 'checkpointing_steps: 3')
      .replace('checkpoints: [6]', 'checkpoints: [3]')
      .replace('seeds: [11, 22]', 'seeds: [11]'),
  );
  env = { ...process.env, ...stack.env, WANDB_MODE: 'disabled' };
  const trained = await harness(['run', ws.experiment, '--variant', 'baseline', '--until', 'train', '--store', ws.store], { cwd: ws.root, env, timeout: SLOW });
  expect(trained.exitCode, trained.stderr).toBe(0);
  context = await loadPlanContext({ experiment: ws.experiment, cwd: ws.root, env, store: ws.store });
}, SLOW);

describe('sampling on the real tiny SDXL', () => {
  let together: Record<string, string>;

  it('renders final, checkpoint and control sets with one pipeline load, bit-identical to one process per set', async () => {
    const result = await sample();
    expect(result.sets.map((set) => [set.weights.kind, set.status, set.rendered])).toEqual([
      ['final', 'rendered', 2],
      ['checkpoint', 'rendered', 2],
      ['control', 'rendered', 2],
    ]);
    const events = (await Promise.all(result.sets.map((set) => readJsonLines<{ type: string; pid?: number; pipeline_loaded?: boolean }>(sampleSetFiles(set.dir).events)))).flat();
    expect(new Set(events.filter((e) => e.type === 'start').map((e) => e.pid)).size).toBe(1);
    expect(events.filter((e) => e.type === 'loaded').map((e) => e.pipeline_loaded)).toEqual([true, false, false]);
    together = await pngHashes(result.sets);

    // The same jobs, each in a fresh sampler process of its own (one pipeline load per set, as before).
    const apart: { setId: string; dir: string }[] = [];
    for (const set of result.sets) {
      const job = JSON.parse(await readFile(sampleSetFiles(set.dir).samplerSpec, 'utf8')) as SamplerJobSpec;
      const dir = path.join(ws.root, 'per-set', set.setId);
      await mkdir(dir, { recursive: true });
      const specFile = path.join(dir, 'sampler-spec.json');
      await writeFile(specFile, JSON.stringify({ ...job, out_dir: dir }));
      const alone = await execa(stack.python, [DEFAULT_SAMPLER_SCRIPT, specFile], { env, reject: false });
      expect(alone.exitCode, alone.stderr.slice(-2000)).toBe(0);
      apart.push({ setId: set.setId, dir });
    }
    const separate = await pngHashes(apart);
    expect(Object.keys(together)).toHaveLength(6);
    expect(together).toEqual(separate);
    // the LoRA changes the pixels (so the comparison can tell a LoRA left loaded or never loaded)
    const [final, checkpoint, control] = result.sets.map((set) => together[`${set.setId}/01-profile-before__s11.png`]);
    expect(new Set([final, checkpoint, control]).size).toBe(3);
  }, SLOW);

  it('after a kill -9 in the middle of a set, renders only what is missing, with the same bytes', async () => {
    expect(together).toBeDefined();
    await clearSamples();
    let killed = 0;
    const onProgress = (p: SampleProgress) => {
      // the first image of the checkpoint set is written: kill the sampler while it renders the second
      if (p.type === 'image' && !p.skipped && p.setId.startsWith('ckpt') && !killed) {
        const dir = path.join(runLayout(ws.store, 'demo', context.plan.runs.find((r) => r.variant === 'baseline')!.id).samplesDir, p.setId);
        const start = readFileSync(sampleSetFiles(dir).events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'start');
        killed = start.pid;
        process.kill(killed, 'SIGKILL');
      }
    };
    const crashed = await sample({ onProgress }).catch((e) => e);
    expect(killed).toBeGreaterThan(0);
    expect(crashed).toBeInstanceOf(SamplingFailedError);
    expect(crashed).toMatchObject({ reason: 'crashed', setId: expect.stringMatching(/^ckpt3-/) });

    const resumed = await sample();
    expect(resumed.sets.map((set) => [set.weights.kind, set.status, set.kept, set.rendered])).toEqual([
      ['final', 'reused', 2, 0],
      ['checkpoint', 'resumed', 1, 1],
      ['control', 'reused', 2, 0],
    ]);
    expect(await pngHashes(resumed.sets)).toEqual(together);
  }, SLOW);
});
