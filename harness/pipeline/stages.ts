// One run's pipeline, split where the hardware changes: the GPU stage (train, then sample) and the CPU
// stage (score, previews, mirror, done). A sweep overlaps the CPU stage of run k with the GPU stage of run k+1.
// Every stage is idempotent: a finished training is not redone, complete sample sets are reused, score
// files are reused, so a crashed or interrupted run simply runs its pipeline again.
import { readJson, writeJsonAtomic } from '../store/atomic.ts';
import type { PlanContext } from '../commands/context.ts';
import { InterruptedError } from '../errors.ts';
import type { RunSpec } from '../plan/planner.ts';
import { sampleRun, type SampleRunResult } from '../samples/run.ts';
import { SamplingFailedError } from '../samples/failure.ts';
import type { SampleProgress, SetOutcome } from '../samples/render.ts';
import { ensurePreviews, PREVIEW_BACKGROUND, PREVIEW_SIDE, writePreview } from '../samples/previews.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import { SCORER_VERSION, type Scorer } from '../scoring/index.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { controlLayout, runLayout, sampleSetFiles } from '../store/layout.ts';
import { readStatus, setStatus, type FailureReason } from '../store/status.ts';
import type { RunMirror } from '../tracking/mirror.ts';
import type { TrainReporter } from '../train/progress.ts';
import { trainRun, type TrainOptions, type TrainResult } from '../train/run.ts';

export type Until = 'train' | 'sample' | 'score';

export interface PipelineContext {
  context: PlanContext;
  cwd: string;
  env: NodeJS.ProcessEnv;
  train: TrainOptions;
  sample: { python: string; device?: 'cuda' | 'cpu'; batchSize?: number; modelDir?: string; vaeDir?: string };
}

export interface GpuOutcome {
  run: RunSpec;
  state: 'done' | 'trained' | 'sampled' | 'failed';
  reason?: FailureReason;
  message: string;
  train: TrainResult | null;
  samples: SampleRunResult | null;
  gpuSeconds: number;
}

export interface GpuStageOptions {
  until: Until;
  /** the caller holds the run's lock */
  holdsLock: boolean;
  reporter?: TrainReporter;
  onSampleProgress?: (progress: SampleProgress) => void;
  mirror?: RunMirror;
  /** extra environment for the GPU children (CUDA_VISIBLE_DEVICES of a worker) */
  childEnv?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export async function gpuStage(p: PipelineContext, run: RunSpec, options: GpuStageOptions): Promise<GpuOutcome> {
  const started = performance.now();
  const layout = runLayout(p.context.storeRoot, run.experiment, run.id);
  const base = { runId: run.id, variant: run.variant };
  const env = { ...p.env, ...options.childEnv };
  const outcome = (fields: Omit<GpuOutcome, 'run' | 'gpuSeconds'>): GpuOutcome => ({ run, ...fields, gpuSeconds: (performance.now() - started) / 1000 });
  const before = await readStatus(layout.status);
  if (before?.state === 'done') return outcome({ state: 'done', message: 'already done', train: null, samples: null });

  const train = await trainRun({
    context: { experiment: p.context.experiment, storeRoot: p.context.storeRoot, hubCache: p.context.hubCache, datasetDir: p.context.datasetDir, cwd: p.cwd, env },
    run,
    options: p.train,
    holdsLock: options.holdsLock,
    ...(options.reporter ? { reporter: options.reporter } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.mirror ? { onEvents: (events) => options.mirror!.onEvents(events as never) } : {}),
  });
  if (train.outcome === 'failed') {
    return outcome({ state: 'failed', ...(train.reason ? { reason: train.reason } : {}), message: train.message, train, samples: null });
  }
  if (options.until === 'train') return outcome({ state: 'trained', message: train.message, train, samples: null });

  await setStatus(layout.status, base, 'sampling');
  try {
    const samples = await sampleRun({
      context: p.context,
      run,
      env,
      cwd: p.cwd,
      python: p.sample.python,
      ...(p.sample.device ? { device: p.sample.device } : {}),
      ...(p.sample.batchSize ? { batchSize: p.sample.batchSize } : {}),
      ...(p.sample.modelDir ? { modelDir: p.sample.modelDir } : {}),
      ...(p.sample.vaeDir ? { vaeDir: p.sample.vaeDir } : {}),
      ...(options.onSampleProgress ? { onProgress: options.onSampleProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await setStatus(layout.status, base, 'sampled');
    return outcome({ state: 'sampled', message: `${samples.sets.length} sample sets`, train, samples });
  } catch (error) {
    const interrupted = error instanceof InterruptedError;
    const reason: FailureReason = interrupted ? 'interrupted' : 'sampling_failed';
    const message = error instanceof Error ? error.message : String(error);
    await setStatus(layout.status, base, 'failed', {
      reason,
      message,
      ...(error instanceof SamplingFailedError ? { logTail: error.logTail } : {}),
    });
    return outcome({ state: 'failed', reason, message, train, samples: null });
  }
}

export interface CpuOutcome {
  state: 'done' | 'failed';
  reason?: FailureReason;
  message: string;
  /** mean identity of the final weights' samples, when scored */
  identity: number | null;
  scored: string[];
  cpuSeconds: number;
}

export interface CpuStageOptions {
  scorer: () => Promise<Scorer>;
  mirror?: RunMirror;
  signal?: AbortSignal;
  onScored?: (setId: string, seconds: number) => void;
}

/** Scores every set of a sampled run (checkpoints first, the final weights last), then marks it done. */
export async function cpuStage(p: PipelineContext, gpu: GpuOutcome, options: CpuStageOptions): Promise<CpuOutcome> {
  const started = performance.now();
  const { run } = gpu;
  const layout = runLayout(p.context.storeRoot, run.experiment, run.id);
  const base = { runId: run.id, variant: run.variant };
  const control = controlLayout(p.context.storeRoot, run.experiment);
  const done = (fields: Omit<CpuOutcome, 'cpuSeconds'>): CpuOutcome => ({ ...fields, cpuSeconds: (performance.now() - started) / 1000 });
  const sets = orderForScoring(gpu.samples?.sets ?? []);
  await setStatus(layout.status, base, 'scoring');
  const scored: string[] = [];
  let identity: number | null = null;
  try {
    for (const set of sets) {
      if (options.signal?.aborted) throw new InterruptedError(`scoring of ${run.id} interrupted; the next run scores what is left`);
      const file = set.weights.kind === 'control' ? control.scores(set.setId) : layout.scores(set.setId);
      const setStarted = performance.now();
      const report = await scoreSet(set, file, options.scorer);
      const manifest = await readJson<SampleSetManifest>(sampleSetFiles(set.dir).manifest);
      // the workers made the previews of what they scored; the rest (cached features, reused scores) from the PNGs
      if (manifest) await ensurePreviews(set.dir, manifest.images);
      options.onScored?.(set.setId, (performance.now() - setStarted) / 1000);
      scored.push(set.setId);
      if (set.weights.kind === 'final') identity = report.summary.identity.mean;
      if (set.weights.kind !== 'control' && options.mirror) {
        if (manifest) options.mirror.onSampleSet(manifest, set.dir);
        options.mirror.onScores(report, set.setId);
      }
    }
  } catch (error) {
    const interrupted = error instanceof InterruptedError;
    const reason: FailureReason = interrupted ? 'interrupted' : 'scoring_failed';
    const message = error instanceof Error ? error.message : String(error);
    // Interrupted scoring leaves the run sampled: nothing is lost and the next sweep scores the rest.
    if (interrupted) await setStatus(layout.status, base, 'sampled', { message });
    else await setStatus(layout.status, base, 'failed', { reason, message });
    return done({ state: 'failed', reason, message, identity, scored });
  }
  await setStatus(layout.status, base, 'done');
  return done({ state: 'done', message: `scored ${scored.length} sets`, identity, scored });
}

/** Checkpoint sets first, then the control, then the final weights: the last scores mirrored are the final ones. */
export function orderForScoring(sets: SetOutcome[]): SetOutcome[] {
  const rank = (s: SetOutcome) => (s.weights.kind === 'checkpoint' ? 0 : s.weights.kind === 'control' ? 1 : 2);
  const step = (s: SetOutcome) => (s.weights.kind === 'checkpoint' ? s.weights.step : 0);
  return [...sets].sort((a, b) => rank(a) - rank(b) || step(a) - step(b));
}

async function scoreSet(set: SetOutcome, file: string, scorer: () => Promise<Scorer>): Promise<ScoreReport> {
  const existing = await readJson<ScoreReport>(file).catch(() => undefined);
  if (existing && existing.scorer?.version === SCORER_VERSION && existing.images?.length === set.images) return existing;
  const previews = { request: { side: PREVIEW_SIDE, background: PREVIEW_BACKGROUND }, write: (_file: string, sha256: string, png: Uint8Array) => writePreview(set.dir, sha256, png) };
  const report = await (await scorer()).scoreDir(set.dir, { previews });
  await writeJsonAtomic(file, report);
  return report;
}
