// `harness sweep`: every planned run through train → sample → score → mirror → report, resumable.
// GPU work (train, sample) runs on one worker per GPU; CPU work (score, mirror, report) of run k runs in a
// serial CPU queue while the GPU worker already trains run k+1. Run locks let several sweep processes
// share one store: no run is done twice, none is skipped.
import path from 'node:path';
import type { Experiment } from '../config/load.ts';
import { formatProblem } from '../errors.ts';
import { asTrained, checkStore, loadPlanContext, planInputs, requireDataset, type ContextOptions, type PlanContext } from '../commands/context.ts';
import { UsageError } from '../errors.ts';
import { requirePinned } from '../hub/pin-state.ts';
import { planExperiment, type RunSpec } from '../plan/planner.ts';
import { openSession, pipelineFlags, type PipelineFlags, type Session } from '../pipeline/session.ts';
import { resolveScript, withModelFolders } from '../pipeline/resolve.ts';
import { prepareForRuns } from '../pipeline/prepare.ts';
import { cpuStage, gpuStage, type GpuOutcome } from '../pipeline/stages.ts';
import { checkUpFront } from '../pipeline/upfront.ts';
import type { SampleProgress } from '../samples/render.ts';
import { experimentDir, runLayout } from '../store/layout.ts';
import { readLock, tryLock, type LockInfo, type RunLock } from '../store/lock.ts';
import { finishedTraining, readStatus, type FailureReason } from '../store/status.ts';
import { mirrorBacklog, type MirrorBacklog } from '../tracking/backlog.ts';
import type { RunMirror } from '../tracking/mirror.ts';
import type { TrainReporter } from '../train/progress.ts';
import { didYouMean } from '../util/suggest.ts';
import { ensureStoreUsable } from './store-check.ts';
import { storedNumbers } from './stored.ts';
import { STARTUP_IDLE } from './timing.ts';

export interface SweepReporter {
  /** the runs this sweep will work on, in order (for a sweep-wide progress and ETA) */
  start?(runs: RunSpec[]): void;
  line(text: string): void;
  /** a warning about the whole sweep (config, up-front checks), said once */
  warn?(text: string): void;
  /** training progress of the run a worker is on */
  train(worker: WorkerInfo, run: RunSpec): TrainReporter;
  sample?(worker: WorkerInfo, progress: SampleProgress): void;
  /** the run's GPU stage (train, sample) is over, well or not; its s/it when it trained */
  gpuEnded?(worker: WorkerInfo, run: RunSpec, secondsPerStep: number | null): void;
}

export interface WorkerInfo {
  index: number;
  /** CUDA_VISIBLE_DEVICES of this worker's children, when --gpus names them */
  gpu: string | null;
}

export interface SweepOptions extends ContextOptions, PipelineFlags {
  /** variant names to run (default: every planned run) */
  variants?: string[];
  maxRuns?: number;
  failFast?: boolean;
  /** false: no report at the end (--no-report) */
  report?: boolean;
  reportOut?: string;
  check?: boolean;
  unpinned?: boolean;
  gpus?: string[];
  script?: string;
  reporter: SweepReporter;
  signal?: AbortSignal;
}

export type RunOutcome = 'done' | 'already_done' | 'failed' | 'interrupted' | 'elsewhere' | 'not_started';

export interface SweepRunRow {
  id: string;
  variant: string;
  outcome: RunOutcome;
  reason?: FailureReason;
  message: string;
  gpuSeconds: number;
  cpuSeconds: number;
  finalLoss: number | null;
  peakVramMb: number | null;
  secondsPerStep: number | null;
  identity: number | null;
  worker: number | null;
  heldBy?: { pid: number; host: string };
  /** what W&B still lacks of the run, and why (absent when it has everything or tracking is off) */
  wandb?: MirrorBacklog;
  /** sample sets asked for but not made (e.g. a checkpoint the script pruned), with why */
  missingSets?: { what: string; why: string }[];
  /** already_done: whether the store has scores of the final weights (a null identity then means no usable face) */
  finalScored?: boolean;
}

export interface SweepResult {
  schemaVersion: number;
  experiment: string;
  storeRoot: string;
  runs: SweepRunRow[];
  wallSeconds: number;
  gpu: {
    workers: number;
    busySeconds: number;
    /** GPU waiting while the sweep had work: start-up before the first run, gaps between runs */
    idle: { why: string; seconds: number }[];
    /** after the last GPU stage, waiting for scoring and the report */
    cpuTailSeconds: number;
    /** whether the environment check saw a CUDA GPU (null: not checked, --no-preflight or nothing to train) */
    seen: boolean | null;
  };
  report: { path: string; warnings: string[] } | null;
  check: { verdict: 'pass' | 'regression' | 'inconclusive'; tier: string; report: string; inconclusive?: { reason: string; hint: string } } | null;
  interrupted: boolean;
  failFastStopped: boolean;
  /** the experiment's config warnings and the up-front check's, each once */
  warnings: string[];
}

export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const startedAt = performance.now();
  const planned = await loadPlanContext(options);
  const configWarnings = planned.experiment.warnings.map(formatProblem);
  for (const warning of configWarnings) options.reporter.warn?.(warning);
  requireDataset(planned);
  requirePinned(planned.experiment.config, options.experiment, { allowUnpinned: options.unpinned ?? false, localModel: Boolean(options.model), localVae: Boolean(options.vae) });
  await checkStore(planned.storeRoot, planned.storeSource, 'write');
  const script = await resolveScript({ script: options.script, cwd: options.cwd, env: options.env, experimentArg: options.experiment }, planned.experiment.config.base.diffusers);
  // The plan as this script names the runs (a local --script has its own sha256): the report and the
  // check then see the runs this sweep trained as planned ones.
  const context: PlanContext = { ...planned, plan: planExperiment(planInputs(planned, script)) };
  const runs = selectRuns(context, context.plan.runs, options).map((run) =>
    withModelFolders(context, run, { model: options.model, vae: options.vae, cwd: options.cwd }),
  );
  const machine = await prepareForRuns(planned, options, (message) => options.reporter.line(message));
  // Refuse once, before any run folder, lock or W&B record exists.
  const upFront = await checkUpFront(context, runs, {
    python: machine.python,
    device: machine.device,
    probe: machine.probe,
    preflight: options.preflight ?? true,
    cwd: options.cwd,
    env: options.env,
    command: `harness sweep ${options.experiment}`,
  });
  for (const warning of upFront.warnings) options.reporter.warn?.(warning);
  await ensureStoreUsable(experimentDir(planned.storeRoot, planned.experiment.name), minFreeMb(options.env));
  const session = openSession({ context, script, cwd: options.cwd, env: options.env, ...pipelineFlags(options), python: machine.python, device: machine.device });
  options.reporter.start?.(runs);
  const state = new SweepState(runs, options, context, session, startedAt);
  state.gpuSeen = upFront.gpuSeen;
  state.warnings = [...configWarnings, ...upFront.warnings];
  try {
    const workers = (options.gpus?.length ? options.gpus : [null]).map((gpu, index) => state.worker({ index, gpu }));
    await Promise.all(workers);
    await state.cpuQueue;
  } finally {
    await session.close();
  }
  await state.settleDeferred();
  await state.checkMirrors();
  const report = options.report === false || state.interrupted ? null : await state.buildReport();
  const check = options.check && !state.interrupted ? await state.runCheck() : null;
  return state.result(report, check);
}

function minFreeMb(env: NodeJS.ProcessEnv): number | undefined {
  return env.HARNESS_MIN_FREE_MB ? Number(env.HARNESS_MIN_FREE_MB) : undefined;
}

export function selectRuns(context: PlanContext, runs: RunSpec[], options: Pick<SweepOptions, 'variants' | 'maxRuns'>): RunSpec[] {
  let selected = runs;
  const wanted = options.variants;
  if (wanted?.length) {
    const names = runs.flatMap((r) => [r.variant, ...r.aliases]);
    const unknown = wanted.filter((name) => !names.includes(name));
    if (unknown.length) {
      throw new UsageError(
        `--variant: no run named ${unknown.map((u) => `"${u}"${didYouMean(u, names)}`).join(', ')}`,
        `runs of ${context.experiment.name}: ${runs.map((r) => r.variant).join(', ')}`,
      );
    }
    selected = runs.filter((r) => wanted.includes(r.variant) || r.aliases.some((a) => wanted.includes(a)));
  }
  if (options.maxRuns !== undefined) selected = selected.slice(0, options.maxRuns);
  return selected;
}

class SweepState {
  readonly rows = new Map<string, SweepRunRow>();
  private readonly pending: RunSpec[];
  private readonly deferred: { run: RunSpec; heldBy: LockInfo }[] = [];
  cpuQueue: Promise<void> = Promise.resolve();
  interrupted = false;
  failFastStopped = false;
  private busySeconds = 0;
  private readonly idle = new Map<string, number>();
  private lastGpuEnd = 0;
  private readonly controller = new AbortController();
  gpuSeen: boolean | null = null;
  warnings: string[] = [];

  constructor(
    private readonly runs: RunSpec[],
    private readonly options: SweepOptions,
    private readonly context: PlanContext,
    private readonly session: Session,
    private readonly startedAt: number,
  ) {
    this.pending = [...runs];
    options.signal?.addEventListener('abort', () => {
      this.interrupted = true;
      this.controller.abort();
    }, { once: true });
  }

  private get stopping(): boolean {
    return this.interrupted || this.failFastStopped;
  }

  async worker(info: WorkerInfo): Promise<void> {
    const { reporter } = this.options;
    let workerLastEnd: number | null = null;
    for (;;) {
      if (this.stopping) return;
      const run = this.pending.shift();
      if (!run) return;
      const layout = runLayout(this.context.storeRoot, run.experiment, run.id);
      if ((await readStatus(layout.status))?.state === 'done') {
        this.record(run, { outcome: 'already_done', message: 'already done: skipped', ...(await storedNumbers(layout)) });
        reporter.line(`${run.id}: already done, skipped`);
        continue;
      }
      const lock = await tryLock(layout.lock, { purpose: 'sweep' });
      if ('heldBy' in lock) {
        this.deferred.push({ run, heldBy: lock.heldBy });
        reporter.line(`${run.id}: being run by pid ${lock.heldBy.pid} on ${lock.heldBy.host}; moving on`);
        continue;
      }
      if (lock.tookOverFrom) reporter.line(`${run.id}: took over the stale lock of pid ${lock.tookOverFrom.pid} (${lock.tookOverFrom.host}); resuming`);
      const gpuStarted = performance.now();
      this.addIdle(workerLastEnd === null ? STARTUP_IDLE : 'between runs (run set-up, locks)', (gpuStarted - (workerLastEnd ?? this.startedAt)) / 1000);
      // what this worker is about to do: a run whose training finished goes straight to sampling
      const next = (await finishedTraining(await readStatus(layout.status), layout)) ? 'trained already; sampling' : 'training';
      reporter.line(`${run.id}: ${info.gpu === null ? '' : `[gpu ${info.gpu}] `}${next}`);
      const mirror = this.session.mirror(run);
      const gpu = await gpuStage(this.session.pipeline, run, {
        until: 'score',
        holdsLock: true,
        mirror,
        reporter: reporter.train(info, run),
        signal: this.controller.signal,
        ...(reporter.sample ? { onSampleProgress: (p: SampleProgress) => reporter.sample!(info, p) } : {}),
        ...(info.gpu === null ? {} : { childEnv: { CUDA_VISIBLE_DEVICES: info.gpu } }),
      });
      reporter.gpuEnded?.(info, run, gpu.train?.summary?.secondsPerStep ?? null);
      workerLastEnd = performance.now();
      this.lastGpuEnd = Math.max(this.lastGpuEnd, workerLastEnd);
      this.busySeconds += gpu.gpuSeconds;
      if (gpu.state !== 'sampled') {
        await this.closeRun(run, gpu, null, mirror, lock, info);
        continue;
      }
      reporter.line(`${run.id}: sampled (${gpu.samples?.sets.length ?? 0} sets); scoring in the background`);
      this.cpuQueue = this.cpuQueue.then(() => this.cpuWork(run, gpu, mirror, lock, info));
    }
  }

  private async cpuWork(run: RunSpec, gpu: GpuOutcome, mirror: RunMirror, lock: RunLock, info: WorkerInfo): Promise<void> {
    try {
      const cpu = await cpuStage(this.session.pipeline, gpu, { scorer: () => this.session.scorer(), mirror, signal: this.controller.signal });
      await this.closeRun(run, gpu, cpu, mirror, lock, info);
      if (cpu.state === 'done' && this.options.report !== false && !this.stopping) await this.buildReport().catch(() => undefined);
    } catch (error) {
      // a bug in CPU work must not hide the run: record it and go on
      await this.closeRun(run, { ...gpu, state: 'failed', reason: 'scoring_failed', message: error instanceof Error ? error.message : String(error) }, null, mirror, lock, info);
    }
  }

  private async closeRun(
    run: RunSpec,
    gpu: GpuOutcome,
    cpu: Awaited<ReturnType<typeof cpuStage>> | null,
    mirror: RunMirror,
    lock: RunLock,
    info: WorkerInfo,
  ): Promise<void> {
    const failed = gpu.state === 'failed' || cpu?.state === 'failed';
    const reason = gpu.reason ?? cpu?.reason;
    const interrupted = reason === 'interrupted';
    const outcome: RunOutcome = gpu.state === 'done' ? 'already_done' : interrupted ? 'interrupted' : failed ? 'failed' : 'done';
    try {
      await mirror.finish(interrupted ? 130 : failed ? 1 : 0);
    } finally {
      await lock.release();
    }
    const summary = gpu.train?.summary ?? null;
    // a run another process finished while this one waited for its lock: the store's numbers
    const numbers =
      outcome === 'already_done'
        ? await storedNumbers(runLayout(this.context.storeRoot, run.experiment, run.id))
        : { finalLoss: summary?.finalLoss ?? null, peakVramMb: summary?.peakVramMb ?? null, secondsPerStep: summary?.secondsPerStep ?? null, identity: cpu?.identity ?? null };
    this.record(run, {
      outcome,
      ...(reason ? { reason } : {}),
      message: cpu?.message ?? gpu.message,
      gpuSeconds: gpu.gpuSeconds,
      cpuSeconds: cpu?.cpuSeconds ?? 0,
      ...numbers,
      worker: info.index,
      ...(gpu.samples?.skipped.length ? { missingSets: gpu.samples.skipped } : {}),
    });
    const { reporter } = this.options;
    for (const missing of gpu.samples?.skipped ?? []) reporter.line(`${run.id}: ${missing.what} was asked for but not made: ${missing.why}`);
    if (outcome === 'done') reporter.line(`${run.id}: done${cpu?.identity != null ? ` (identity ${cpu.identity.toFixed(3)})` : ''}`);
    else if (outcome === 'interrupted') reporter.line(`${run.id}: interrupted; the next sweep resumes it`);
    else if (outcome === 'failed') {
      reporter.line(`${run.id}: failed (${reason ?? 'unknown'}): ${(cpu?.message ?? gpu.message).split('\n').join('\n    ')}`);
      if (this.options.failFast && !this.failFastStopped) {
        this.failFastStopped = true;
        reporter.line('--fail-fast: no further runs are started');
      }
    }
  }

  private addIdle(why: string, seconds: number): void {
    if (seconds > 0) this.idle.set(why, (this.idle.get(why) ?? 0) + seconds);
  }

  private record(run: RunSpec, fields: Partial<SweepRunRow> & Pick<SweepRunRow, 'outcome' | 'message'>): void {
    this.rows.set(run.id, {
      id: run.id,
      variant: run.variant,
      gpuSeconds: 0,
      cpuSeconds: 0,
      finalLoss: null,
      peakVramMb: null,
      secondsPerStep: null,
      identity: null,
      worker: null,
      ...fields,
    });
  }

  /** Runs another process held: done by now, or still in its hands (then named, never silently dropped). */
  async settleDeferred(): Promise<void> {
    for (const { run, heldBy } of this.deferred) {
      const layout = runLayout(this.context.storeRoot, run.experiment, run.id);
      const status = await readStatus(layout.status);
      const holder = (await readLock(layout.lock)) ?? heldBy;
      if (status?.state === 'done') this.record(run, { outcome: 'already_done', message: `done by pid ${heldBy.pid} on ${heldBy.host}`, ...(await storedNumbers(layout)) });
      else this.record(run, { outcome: 'elsewhere', message: `in the hands of pid ${holder.pid} on ${holder.host} (${status?.state ?? 'planned'})`, heldBy: { pid: holder.pid, host: holder.host } });
    }
    for (const run of this.runs) if (!this.rows.has(run.id)) this.record(run, { outcome: 'not_started', message: this.interrupted ? 'not started: interrupted' : 'not started: --fail-fast' });
  }

  /** Every run this sweep saw in the store: whether W&B has all of it (nothing fails silently). */
  async checkMirrors(): Promise<void> {
    for (const row of this.rows.values()) {
      if (row.outcome === 'elsewhere' || row.outcome === 'not_started') continue;
      const runDir = runLayout(this.context.storeRoot, this.context.experiment.name, row.id).dir;
      const backlog = await mirrorBacklog(runDir, this.context.experiment.config.tracking, this.options.env);
      if (backlog) row.wandb = backlog;
    }
  }

  async buildReport(): Promise<{ path: string; warnings: string[] }> {
    const { buildReport } = await import('../report/build.ts');
    const { reportDir } = await import('../store/layout.ts');
    const outDir = this.options.reportOut ? path.resolve(this.options.cwd, this.options.reportOut) : reportDir(this.context.storeRoot, this.context.experiment.name);
    const built = await buildReport({ context: await asTrained(this.context), outDir });
    return { path: built.reportPath, warnings: built.warnings };
  }

  async runCheck(): Promise<SweepResult['check']> {
    const { checkRun } = await import('../regression/index.ts');
    const { checksLayout } = await import('../store/layout.ts');
    const experiment: Experiment = this.context.experiment;
    const { plan } = await asTrained(this.context);
    const report = await checkRun({ experiment, storeRoot: this.context.storeRoot, plan, displayFile: this.options.experiment });
    return {
      verdict: report.verdict,
      tier: report.tier,
      report: checksLayout(this.context.storeRoot, experiment.name).report(report.variant),
      ...(report.inconclusive ? { inconclusive: report.inconclusive } : {}),
    };
  }

  result(report: SweepResult['report'], check: SweepResult['check']): SweepResult {
    const wall = (performance.now() - this.startedAt) / 1000;
    return {
      schemaVersion: 1,
      experiment: this.context.experiment.name,
      storeRoot: this.context.storeRoot,
      runs: this.runs.map((r) => this.rows.get(r.id)!),
      wallSeconds: wall,
      gpu: {
        workers: this.options.gpus?.length || 1,
        busySeconds: this.busySeconds,
        idle: [...this.idle.entries()].map(([why, seconds]) => ({ why, seconds })),
        cpuTailSeconds: this.lastGpuEnd ? Math.max(0, wall - (this.lastGpuEnd - this.startedAt) / 1000) : 0,
        seen: this.gpuSeen,
      },
      report,
      check,
      interrupted: this.interrupted,
      failFastStopped: this.failFastStopped,
      warnings: this.warnings,
    };
  }
}
