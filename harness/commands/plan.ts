// `harness plan`: what would run, with the exact commands. No GPU, no disk writes.
import type { Problem } from '../errors.ts';
import { planExperiment, type RunSpec } from '../plan/planner.ts';
import { localScript } from '../train/script.ts';
import { checkpointMisalignment, misalignmentMessage } from '../plan/resume-alignment.ts';
import { runLayout } from '../store/layout.ts';
import { loadPlanContext, planInputs, type ContextOptions } from './context.ts';

export interface PlanResult {
  schemaVersion: number;
  experiment: string;
  file: string;
  storeRoot: string;
  dataset: { dir: string; found: boolean; hash: string | null; images: number | null };
  warnings: Problem[];
  runs: (RunSpec & { command: string[] })[];
}

export async function plan(options: ContextOptions & { script?: string }): Promise<PlanResult> {
  const context = await loadPlanContext(options);
  const { experiment } = context;
  // With a local copy of the script, runs are named by its sha256, as `harness run --script` names them.
  const local = options.script ? await localScript(options.script, options.cwd, experiment.config.base.diffusers) : null;
  const p = local ? planExperiment(planInputs(context, local)) : context.plan;
  const warnings = [...experiment.warnings];
  if (local && !local.pinned) {
    warnings.push({ file: options.script!, message: `sha256 ${local.sha256} differs from the pinned ${local.expected}: run ids use the script's own hash` });
  }
  if (context.dataset) {
    // Runs above the images' real size upscale every image (the config rule only knows dataset.image_size).
    const { smallestImageSide } = await import('../dataset/pixels.ts');
    const { IMAGE_FILE } = await import('../dataset/files.ts');
    const names = context.dataset.files.map((f) => f.path).filter((name) => !name.includes('/') && IMAGE_FILE.test(name));
    const smallest = await smallestImageSide(context.datasetDir, names);
    const imageSize = experiment.config.dataset.image_size;
    const above = smallest ? p.runs.filter((run) => Number(run.settings.resolution) > smallest.side && Number(run.settings.resolution) <= imageSize) : [];
    for (const run of above) {
      const resolution = Number(run.settings.resolution);
      warnings.push({
        file: options.experiment,
        key: 'dataset.dir',
        message: `${run.variant}: resolution ${resolution} is above the dataset's images (the smallest, ${smallest!.file}, is ${smallest!.side} px): the script upscales them up to ${Number((resolution / smallest!.side).toFixed(2))}×; prepare the photos at ${resolution} px or train at ${smallest!.side}`,
      });
    }
  }
  warnings.push(...resumeWarnings(p.runs, options.experiment));
  if (!context.dataset) {
    warnings.push({
      file: options.experiment,
      key: 'dataset.dir',
      message: `dataset folder not found (${context.datasetDir}): run ids are provisional and nothing can train until it exists`,
    });
  }
  return {
    schemaVersion: p.schemaVersion,
    experiment: p.experiment,
    file: experiment.file,
    storeRoot: p.storeRoot,
    dataset: {
      dir: context.datasetDir,
      found: context.dataset !== null,
      hash: context.dataset?.hash ?? null,
      images: context.dataset?.imageCount ?? null,
    },
    warnings,
    runs: p.runs.map((run) => ({
      ...run,
      command: ['python', 'python/train.py', runLayout(p.storeRoot, p.experiment, run.id).spec],
    })),
  };
}

/**
 * Checkpoints off the epoch boundaries: a resume from one is not what an uninterrupted run trains. One
 * warning per setting that causes it (the baseline's, or a variant's own), naming the runs it applies to.
 */
export function resumeWarnings(runs: RunSpec[], file: string): Problem[] {
  const groups = new Map<string, { key: string; runs: RunSpec[]; message: (names: string[]) => string }>();
  for (const run of runs) {
    const misaligned = checkpointMisalignment(run.settings, run.steps);
    if (!misaligned) continue;
    const own = ['checkpointing_steps', 'train_batch_size', 'gradient_accumulation_steps', 'repeats', 'max_train_steps'].some((k) => k in run.overrides);
    const key = own ? `${run.variant}: checkpointing_steps` : 'baseline.checkpointing_steps';
    const id = `${key}\u0000${misaligned.checkpointingSteps}\u0000${misaligned.stepsPerEpoch}\u0000${misaligned.aligned.join(',')}`;
    const group = groups.get(id) ?? { key, runs: [], message: (names: string[]) => misalignmentMessage(misaligned, run.settings, names) };
    group.runs.push(run);
    groups.set(id, group);
  }
  return [...groups.values()].map((g) => ({ file, key: g.key, message: g.message(g.runs.map((r) => r.variant)) }));
}
