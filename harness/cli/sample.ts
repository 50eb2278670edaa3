import { Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import type { SampleProgress } from '../samples/render.ts';
import { UsageError } from '../errors.ts';
import { collectList, datasetOption, jsonOption, modelOptions, pythonOption, SHARED_FLAGS, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit, type Io } from './io.ts';
import { table } from './table.ts';

interface SampleFlags {
  variant?: string[];
  checkpoint?: string[];
  seeds?: string;
  prompts?: string;
  control?: boolean;
  python?: string;
  model?: string;
  vae?: string;
  device?: 'cuda' | 'cpu';
  batchSize?: string;
  store?: string;
  dataset?: string;
  json?: boolean;
}


export function defineSample(program: Command, ctx: CliContext): void {
  const command = program
    .command('sample')
    .description('render the fixed prompts × fixed seeds of trained runs (final weights, checkpoints) and of the base model')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--variant <name>', SHARED_FLAGS.variant, collectList)
    .option('--checkpoint <which>', 'final, a step number, all (every complete checkpoint-N) or none; repeat or comma-separate (default: final + samples.checkpoints)', collectList)
    .option('--seeds <list>', "seeds instead of the experiment's, e.g. 1,2,3 (a different spec: new set ids)")
    .option('--prompts <ids>', "a subset of the experiment's prompt ids, e.g. 01-profile-before,04-sickle")
    .option('--control', 'only the base model without LoRA (the control set shared by all runs)')
    .option('--no-control', 'skip the control set')
    .addOption(new Option('--device <device>', 'where to render: cuda (fp16) or cpu (fp32) (default: cuda when torch sees a GPU, else cpu)').choices(['cuda', 'cpu']))
    .option('--batch-size <n>', 'images of one prompt per pipeline call (default 1; part of the set id)')
    .addHelpText(
      'after',
      `
A sample set is one folder of <prompt-id>__s<seed>.png images, each with a JSON sidecar of every setting,
the weights' sha256 and the library versions. Its id (final-…, ckpt200-…, control-…) is a hash over the
weights' bytes and every sampling setting: the same request is free the second time, any change makes a
new set. An interrupted set resumes from the last finished image; a corrupt image is detected and redone.
Every (prompt, seed) gets a fresh torch.Generator("cpu").manual_seed(seed).

--variant picks the runs to sample (default: every trained run). The sampler is python/sample.py
($HARNESS_SAMPLER_SCRIPT replaces it, for tests and stand-ins).

${exitCodesHelp('sample')}

Examples:
  harness sample experiments/tok-boy.yaml
  harness sample experiments/tok-boy.yaml --variant lr-low --checkpoint all
  harness sample experiments/tok-boy.yaml --variant baseline --seeds 7,8 --prompts 04-sickle
  harness sample experiments/tok-boy.yaml --control --json`,
    );
  pythonOption(command);
  modelOptions(command);
  storeOption(datasetOption(jsonOption(command))).action(async (experiment: string, flags: SampleFlags) => {
    const { sample } = await import('../commands/sample.ts');
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const result = await sample({
        experiment,
        cwd: ctx.io.cwd,
        env: ctx.io.env,
        store: flags.store,
        dataset: flags.dataset,
        variants: flags.variant,
        checkpoints: flags.checkpoint,
        ...(flags.seeds ? { seeds: parseSeeds(flags.seeds) } : {}),
        ...(flags.prompts ? { prompts: collectList(flags.prompts) } : {}),
        ...(flags.control === undefined ? {} : { control: flags.control }),
        python: flags.python,
        model: flags.model,
        vae: flags.vae,
        device: flags.device,
        ...(flags.batchSize ? { batchSize: parsePositive(flags.batchSize, '--batch-size') } : {}),
        onProgress: (progress) => printProgress(ctx.io, progress),
        onMessage: (message) => ctx.io.stderr.write(`${message}\n`),
        signal: controller.signal,
      });
      for (const skip of result.skipped) ctx.io.stderr.write(`${ctx.io.style.yellow('skipped')} ${skip.what}: ${skip.why}\n`);
      emit(ctx.io, flags.json, result, (r) => {
        if (r.sets.length === 0) return 'nothing to sample: no trained runs and no control set';
        const rows = r.sets.map((set) => [set.variant ?? '(base model)', set.setId, set.status, `${set.images}`, `${set.rendered}`, set.dir]);
        return table(['run', 'set', 'status', 'images', 'rendered now', 'folder'], rows);
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}

function parseSeeds(text: string): number[] {
  return collectList(text).map((item) => {
    if (!/^\d+$/.test(item)) throw new UsageError(`--seeds ${text}: "${item}" is not a whole number ≥ 0`, 'e.g. --seeds 11,22,33');
    return Number(item);
  });
}

function parsePositive(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} ${text}: expected a whole number ≥ 1`);
  return Number(text);
}

function printProgress(io: Io, progress: SampleProgress): void {
  const out = io.stderr;
  if (progress.type === 'set-start') {
    const what = progress.runId ? `${progress.runId} ${progress.weights}` : 'base model (control)';
    out.write(`${io.style.bold(progress.setId)} ${what}: ${progress.todo} of ${progress.total} images to render\n`);
  } else if (progress.type === 'image' && !progress.skipped) {
    const took = progress.seconds === undefined ? '' : ` ${progress.seconds.toFixed(1)}s`;
    out.write(`  [${progress.index}/${progress.total}] ${progress.file}${took}\n`);
  } else if (progress.type === 'redo') {
    out.write(`  ${io.style.yellow('redo')} ${progress.file}: ${progress.why}\n`);
  } else if (progress.type === 'waiting') {
    out.write(`${progress.setId}: waiting for pid ${progress.heldBy.pid} on ${progress.heldBy.host}, which is rendering it\n`);
  } else if (progress.type === 'set-done' && progress.outcome.status === 'reused') {
    out.write(`${progress.outcome.setId}: already complete (${progress.outcome.images} images verified)\n`);
  }
}
