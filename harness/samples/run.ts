// `sampleRun`: every sample set of one run (final weights, checkpoints) plus the shared control set, in
// one sampler process (one SDXL load). What `harness sample` and `harness sweep` (after training) call.
// Run status is the caller's business.
import { stat } from 'node:fs/promises';
import type { PlanContext } from '../commands/context.ts';
import { UsageError } from '../errors.ts';
import { snapshotPath, type RunSpec } from '../plan/planner.ts';
import { controlLayout, runLayout } from '../store/layout.ts';
import { renderSets, type RenderContext, type SampleProgress, type SetOutcome, type SetTarget } from './render.ts';
import { renderSettings, samplingSpecFrom, type ModelRef, type SpecFilters } from './spec.ts';
import type { SamplingSpec } from './types.ts';
import { completeCheckpointSteps, resolveWeights } from './weights.ts';

export interface SetSelection {
  final: boolean;
  /** checkpoint steps, 'all' complete ones, or 'none' */
  checkpoints: number[] | 'all' | 'none';
  /** the base model without LoRA, shared by all runs of the experiment */
  control: boolean;
}

export interface SampleRunOptions {
  context: Pick<PlanContext, 'experiment' | 'storeRoot' | 'hubCache'>;
  /** null: only the control set */
  run: RunSpec | null;
  /** default: final + `samples.checkpoints` + control when `samples.control` */
  sets?: Partial<SetSelection>;
  /** subsets or other seeds than the experiment's (a different spec, so different set ids) */
  filters?: SpecFilters;
  device?: 'cuda' | 'cpu';
  batchSize?: number;
  /** the Python that has torch/diffusers; default $HARNESS_PYTHON or python3 */
  python?: string;
  /** local snapshot folders; default the pinned snapshots in the Hub cache */
  modelDir?: string;
  vaeDir?: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  onProgress?: (progress: SampleProgress) => void;
  signal?: AbortSignal;
}

export interface SampleRunResult {
  schemaVersion: number;
  experiment: string;
  runId: string | null;
  sets: SetOutcome[];
  /** asked for but not there (a checkpoint pruned or never reached), never silently dropped */
  skipped: { what: string; why: string }[];
}

export function defaultSelection(samples: PlanContext['experiment']['config']['samples']): SetSelection {
  return { final: true, checkpoints: samples.checkpoints, control: samples.control };
}

export async function sampleRun(options: SampleRunOptions): Promise<SampleRunResult> {
  const { experiment, storeRoot, hubCache } = options.context;
  const config = experiment.config;
  const selection = { ...defaultSelection(config.samples), ...options.sets };
  const spec = samplingSpecFrom(config.samples, options.filters);
  const ctx: RenderContext = {
    experiment: config.name,
    model: await modelFolder(config.base.model, options.modelDir, hubCache, '--model'),
    vae: await modelFolder(config.base.vae, options.vaeDir, hubCache, '--vae'),
    render: renderSettings({ device: options.device, batchSize: options.batchSize }),
    python: options.python ?? options.env.HARNESS_PYTHON ?? 'python3',
    env: options.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };

  const { targets, skipped } = options.run ? await runTargets(options.context, options.run, selection, spec) : { targets: [], skipped: [] };
  if (selection.control) {
    const control = controlLayout(storeRoot, config.name);
    targets.push({ runId: null, weights: { kind: 'control' }, spec, dirFor: control.sampleSet, lockFile: control.lock });
  }
  const ownerDir = options.run ? runLayout(storeRoot, config.name, options.run.id).dir : controlLayout(storeRoot, config.name).dir;
  const { sets, failures } = await renderSets(ctx, targets, ownerDir);
  if (failures.length > 0) {
    // The other sets are rendered and kept; the first failure speaks for the call.
    const [first, ...others] = failures;
    if (others.length > 0) first!.message += ` (also failed: ${others.map((f) => `${f.setId} (${f.reason})`).join(', ')})`;
    throw first;
  }
  return { schemaVersion: 1, experiment: config.name, runId: options.run?.id ?? null, sets, skipped };
}

async function runTargets(
  context: SampleRunOptions['context'],
  run: RunSpec,
  selection: SetSelection,
  spec: SamplingSpec,
): Promise<{ targets: SetTarget[]; skipped: SampleRunResult['skipped'] }> {
  const { storeRoot } = context;
  const experiment = context.experiment.config.name;
  const layout = runLayout(storeRoot, experiment, run.id);
  const targets: SetTarget[] = [];
  const skipped: SampleRunResult['skipped'] = [];
  if (selection.final) {
    const weights = await resolveWeights(storeRoot, experiment, run.id, { kind: 'final' });
    if ('missing' in weights) {
      throw new UsageError(`run ${run.id} (${run.variant}) has not finished training: ${weights.missing}`, `train it first: harness run ${context.experiment.file} --variant ${run.variant}`);
    }
    targets.push({ runId: run.id, weights, spec, dirFor: layout.sampleSet });
  }
  const available = await completeCheckpointSteps(layout.output);
  const steps = selection.checkpoints === 'all' ? available : selection.checkpoints === 'none' ? [] : [...new Set(selection.checkpoints)].sort((a, b) => a - b);
  for (const step of steps) {
    const weights = await resolveWeights(storeRoot, experiment, run.id, { kind: 'checkpoint', step });
    if ('missing' in weights) {
      skipped.push({ what: `${run.id} checkpoint-${step}`, why: `${weights.missing} (complete: ${available.join(', ') || 'none'})` });
      continue;
    }
    targets.push({ runId: run.id, weights, spec, dirFor: layout.sampleSet });
  }
  return { targets, skipped };
}

async function modelFolder(ref: ModelRef, override: string | undefined, hubCache: string, flag: string): Promise<ModelRef & { path: string }> {
  if (!override && ref.commit === null) {
    throw new UsageError(
      `${ref.id} is not pinned to a commit, so its samples would not be reproducible`,
      `pin it (harness pin <experiment>) and snapshot it (harness setup <experiment>), or pass ${flag} DIR`,
    );
  }
  const dir = override ?? snapshotPath(hubCache, ref);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UsageError(`no snapshot of ${ref.id} at ${dir}`, `run \`harness setup <experiment>\` to download it, or pass ${flag} DIR (a local snapshot folder)`);
  }
  return { id: ref.id, commit: ref.commit, path: dir };
}
