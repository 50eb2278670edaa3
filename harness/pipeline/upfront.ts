// Refuse once, up front: what `sweep` and `run` check before any run folder, lock or W&B record exists.
// The checks are the preflight's own (train/preflight.ts, train/envcheck.ts); here they run once for
// every selected run together, so a machine without a GPU or a dataset with problems gives one whole
// reason and exit 2 instead of a failed run folder per planned run.
import path from 'node:path';
import type { PlanContext } from '../commands/context.ts';
import { UsageError } from '../errors.ts';
import type { RunSpec } from '../plan/planner.ts';
import { runLayout } from '../store/layout.ts';
import { finishedTraining, readStatus } from '../store/status.ts';
import { envCheck } from '../train/envcheck.ts';
import { probeEnv, type EnvProbe } from '../train/envinfo.ts';
import { checkModels, checkTrainingDataset, type PreflightFinding } from '../train/preflight.ts';

export interface UpFrontResult {
  /** findings that are not errors, each once */
  warnings: string[];
  /** whether the environment check saw a CUDA GPU; null when it did not run (--no-preflight, nothing to train) */
  gpuSeen: boolean | null;
}

export interface UpFrontOptions {
  python: string;
  /** what python/envinfo.py said of `python` already (prepareForRuns); probed here when absent */
  probe?: EnvProbe | null;
  /** where the runs train (default: what the machine has) */
  device?: 'cuda' | 'cpu';
  /** false: --no-preflight (stand-in trainers): the Python/GPU check is skipped, the dataset is still checked */
  preflight: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** how the command is called again, for the hint */
  command: string;
}

/** Runs that still need the trainer (not trained yet): only these need a GPU and a clean dataset. */
export async function runsToTrain(context: PlanContext, runs: RunSpec[]): Promise<RunSpec[]> {
  const out: RunSpec[] = [];
  for (const run of runs) {
    const layout = runLayout(context.storeRoot, run.experiment, run.id);
    // the trainer's own rule: a finished training whose weights went missing is trained again
    if (!(await finishedTraining(await readStatus(layout.status), layout))) out.push(run);
  }
  return out;
}

export async function checkUpFront(context: PlanContext, runs: RunSpec[], options: UpFrontOptions): Promise<UpFrontResult> {
  const toTrain = await runsToTrain(context, runs);
  if (toTrain.length === 0) return { warnings: [], gpuSeen: null };
  const errors: PreflightFinding[] = [];
  const warnings: PreflightFinding[] = [];

  const model = toTrain[0]!.argv[toTrain[0]!.argv.indexOf('--pretrained_model_name_or_path') + 1];
  const dataset = await checkTrainingDataset(context.datasetDir, context.experiment, {
    modelDir: model && path.isAbsolute(model) ? model : null,
    resolutions: toTrain.map((run) => ({ name: run.variant, resolution: Number(run.settings.resolution) })),
  });
  errors.push(...dataset.report.errors);
  warnings.push(...dataset.report.warnings);
  // the snapshot folders the trainer will be given must exist (unique() keeps each folder's error once)
  for (const run of toTrain) errors.push(...(await checkModels(run.argv)).errors);

  let gpuSeen: boolean | null = null;
  if (options.preflight) {
    const probe = options.probe ?? (await probeEnv(options.python, { cwd: options.cwd, env: options.env }));
    const check = envCheck(probe, toTrain.map((run) => run.settings), context.experiment.config.base.diffusers.release, options.device);
    errors.push(...check.errors);
    warnings.push(...check.warnings);
    gpuSeen = probe.ok ? probe.info.gpus.length > 0 && probe.info.torch?.cuda_available === true : false;
  }
  if (errors.length > 0) {
    const what = toTrain.length === 1 ? `run ${toTrain[0]!.id}` : `${toTrain.length} runs`;
    throw new UsageError(
      `refused before any run started (${what} to train; nothing was written):\n${unique(errors).map((e) => `  ${findingText(e)}`).join('\n')}`,
      `fix the above, then run \`${options.command}\` again; \`harness doctor\` and \`harness dataset check\` show the details`,
    );
  }
  return { warnings: unique(warnings).map(findingText), gpuSeen };
}

function unique(findings: PreflightFinding[]): PreflightFinding[] {
  const seen = new Map<string, PreflightFinding>();
  for (const f of findings) if (!seen.has(f.message)) seen.set(f.message, f);
  return [...seen.values()];
}

function findingText(finding: PreflightFinding): string {
  return `${finding.message}${finding.hint ? ` (fix: ${finding.hint})` : ''}`;
}
