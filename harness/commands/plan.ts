// `harness plan`: what would run, with the exact commands. No GPU, no disk writes.
import type { Problem } from '../errors.ts';
import type { RunSpec } from '../plan/planner.ts';
import { runLayout } from '../store/layout.ts';
import { loadPlanContext, type ContextOptions } from './context.ts';

export interface PlanResult {
  schemaVersion: number;
  experiment: string;
  file: string;
  storeRoot: string;
  dataset: { dir: string; found: boolean; hash: string | null; images: number | null };
  warnings: Problem[];
  runs: (RunSpec & { command: string[] })[];
}

export async function plan(options: ContextOptions): Promise<PlanResult> {
  const context = await loadPlanContext(options);
  const { experiment, plan: p } = context;
  const warnings = [...experiment.warnings];
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
