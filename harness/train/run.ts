// One training attempt of one run, end to end: lock → checks → resume choice → self-describing run folder →
// trainer in its own process group → events tailed into progress → verdict in status.json. Returns a result
// object for every outcome (a sweep records it and goes on); only a lock held by another process throws.
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Experiment } from '../config/load.ts';
import { UsageError } from '../errors.ts';
import type { RunSpec } from '../plan/planner.ts';
import { checkpointMisalignment, misalignmentMessage, resumeIsEquivalent, stepsPerEpoch } from '../plan/resume-alignment.ts';
import { accelerateConfigYaml, trainCommand, trainEnv, type Launcher } from '../runner/command.ts';
import { groupAlive, runCapture, startGroup, type ExitInfo } from '../runner/process.ts';
import { GroupStopper } from '../runner/stopper.ts';
import { writeFileAtomic, writeJsonAtomic } from '../store/atomic.ts';
import { runLayout, SCHEMA_VERSION, type RunLayout } from '../store/layout.ts';
import { tryLock } from '../store/lock.ts';
import { finishedTraining, readStatus, setStatus, type FailureReason, type RunStatus } from '../store/status.ts';
import { classifyAttempt, logTailLines } from './classify.ts';
import { probeEnv, PYTHON_DIR, REPO_ROOT, type EnvProbe } from './envinfo.ts';
import { EventLog, FileTail, readEventLog, type EventSummary, type TrainEvent } from './events.ts';
import { checkEnvironment, checkModels, checkSettings, checkTrainingDataset, mergeReports, type PreflightFinding, type PreflightReport } from './preflight.ts';
import { RateWindow, silentReporter, snapshotFrom, type TrainReporter } from './progress.ts';
import { commandRecord, envRecord, specRecord, type TrainerSpec } from './records.ts';
import { chooseResumeCheckpoint, rewriteEventsForResume } from './resume.ts';
import { checkLoraFile, type LoraCheck } from './safetensors.ts';
import type { ScriptFile } from './script.ts';

export interface TrainContext {
  experiment: Experiment;
  storeRoot: string;
  hubCache: string;
  datasetDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface TrainOptions {
  python: string;
  launcher: Launcher;
  numProcesses: number;
  script: ScriptFile;
  /** environment and GPU checks (settings, model and dataset checks always run) */
  preflight: boolean;
  /** let the script do its final full-pipeline reload after saving (default: leave before it) */
  finalReload: boolean;
  stopOnNan: boolean;
  /** after SIGINT, how long the trainer gets before SIGTERM, then as long again before SIGKILL */
  killGraceMs: number;
  pollMs: number;
  /** where the trainer runs (default cuda): cpu hides every GPU from it and checks CPU-fit settings instead */
  device?: 'cuda' | 'cpu';
}

export const DEFAULT_TRAIN_OPTIONS = { launcher: 'python', numProcesses: 1, preflight: true, finalReload: false, stopOnNan: true, killGraceMs: 15_000, pollMs: 250 } as const;

export type TrainOutcome = 'trained' | 'already_trained' | 'failed';

export interface TrainResult {
  schemaVersion: number;
  runId: string;
  variant: string;
  runDir: string;
  outcome: TrainOutcome;
  reason?: FailureReason;
  message: string;
  attempt: number | null;
  /** equivalent: the resume was on an epoch boundary, so the run trains what an uninterrupted one would */
  resumedFrom: { step: number; checkpoint: string; stepsPerEpoch: number | null; equivalent: boolean | null } | null;
  totalSteps: number | null;
  summary: EventSummary | null;
  weights: { path: string; bytes: number; tensors: number; ranks: number[] } | null;
  exitCode: number | null;
  signal: string | null;
  wallSeconds: number | null;
  warnings: string[];
  preflight: PreflightReport | null;
  logTail?: string[];
}

export interface TrainRunArgs {
  context: TrainContext;
  run: RunSpec;
  options: TrainOptions;
  reporter?: TrainReporter;
  signal?: AbortSignal;
  /** the caller (a sweep) already holds the run's lock for the whole pipeline */
  holdsLock?: boolean;
  /** every event as it is read from events.jsonl (e.g. to mirror metrics to W&B live) */
  onEvents?: (events: TrainEvent[]) => void;
}

export async function trainRun({ context, run, options, reporter = silentReporter, signal, holdsLock = false, onEvents }: TrainRunArgs): Promise<TrainResult> {
  const layout = runLayout(context.storeRoot, run.experiment, run.id);
  const base = { runId: run.id, variant: run.variant };
  const result = emptyResult(run, layout);
  const before = await readStatus(layout.status);
  if (await finishedTraining(before, layout)) return alreadyTrained(result, before!);

  const lock = holdsLock ? { release: async () => {} } : await tryLock(layout.lock, { purpose: 'train' });
  if ('heldBy' in lock) {
    throw new UsageError(
      `run ${run.id} is locked by pid ${lock.heldBy.pid} on ${lock.heldBy.host} (${lock.heldBy.purpose}, heartbeat ${lock.heldBy.heartbeatAt})`,
      'wait for it to finish; a lock whose process died is taken over automatically',
    );
  }
  if ('tookOverFrom' in lock && lock.tookOverFrom) result.warnings.push(`took over a stale lock of pid ${lock.tookOverFrom.pid} on ${lock.tookOverFrom.host}`);
  try {
    const current = await readStatus(layout.status);
    if (await finishedTraining(current, layout)) return alreadyTrained(result, current!);

    const probe = await probeEnv(options.python, { cwd: context.cwd, env: context.env });
    const report = await preflight(context, run, options, probe);
    result.preflight = report;
    for (const warning of report.warnings) {
      const text = findingText(warning);
      result.warnings.push(text);
      reporter.warn(text);
    }
    if (report.errors.length) {
      result.outcome = 'failed';
      result.reason = 'preflight';
      result.message = `preflight refused the run:\n${report.errors.map((e) => `  ${findingText(e)}`).join('\n')}`;
      await setStatus(layout.status, base, 'failed', { reason: 'preflight', message: result.message });
      await writeJsonAtomic(layout.trainResult, result);
      return result;
    }
    if (signal?.aborted) return interruptedBeforeStart(result);
    return await attempt({ context, run, options, reporter, signal, layout, result, probe, history: current?.history.length ?? 0, onEvents });
  } finally {
    await lock.release();
  }
}

async function preflight(context: TrainContext, run: RunSpec, options: TrainOptions, probe: EnvProbe): Promise<PreflightReport> {
  const reports: PreflightReport[] = [checkSettings({ settings: run.settings, argv: run.argv }), await checkModels(run.argv)];
  const model = run.argv[run.argv.indexOf('--pretrained_model_name_or_path') + 1];
  const dataset = await checkTrainingDataset(context.datasetDir, context.experiment, {
    modelDir: model && path.isAbsolute(model) ? model : null,
    resolutions: [{ name: run.variant, resolution: Number(run.settings.resolution) }],
  });
  reports.push(dataset.report);
  if (!dataset.fullCheck) reports.push({ errors: [], warnings: [{ check: 'dataset', message: 'the dataset module is not available: only checked that the folder exists' }] });
  const misaligned = checkpointMisalignment(run.settings, run.steps, options.launcher === 'accelerate' ? options.numProcesses : 1);
  if (misaligned) reports.push({ errors: [], warnings: [{ check: 'resume', message: misalignmentMessage(misaligned, run.settings, [run.id]) }] });
  if (!options.script.pinned) {
    reports.push({
      errors: [],
      warnings: [{ check: 'script', message: `--script ${options.script.path} has sha256 ${options.script.sha256}, the pin is ${options.script.expected}; the run id uses the script's own hash` }],
    });
  }
  if (options.preflight) {
    if (!probe.ok) reports.push({ errors: [{ check: 'python', message: probe.message, hint: 'pass --python EXE (the interpreter with torch and diffusers)' }], warnings: [] });
    else reports.push(checkEnvironment(run.settings, probe.info, run.provenance.diffusersRelease, options.device ?? 'cuda'));
  }
  return mergeReports(...reports);
}

interface AttemptArgs {
  context: TrainContext;
  run: RunSpec;
  options: TrainOptions;
  reporter: TrainReporter;
  signal: AbortSignal | undefined;
  layout: RunLayout;
  result: TrainResult;
  probe: EnvProbe;
  history: number;
  onEvents: ((events: TrainEvent[]) => void) | undefined;
}

async function attempt(a: AttemptArgs): Promise<TrainResult> {
  const { context, run, options, reporter, signal, layout, result } = a;
  const base = { runId: run.id, variant: run.variant };
  const attemptNo = (await countStarts(layout.events)) + 1;
  result.attempt = attemptNo;
  const mixedPrecision = String(run.settings.mixed_precision ?? 'no');
  const choice = await chooseResumeCheckpoint(layout.output, layout.events, mixedPrecision);
  for (const skipped of choice.skipped) {
    const text = `not resuming from ${path.basename(skipped.dir)}: ${skipped.why}`;
    result.warnings.push(text);
    reporter.warn(text);
  }
  const resume = choice.checkpoint;
  const perEpoch = run.steps ? stepsPerEpoch(run.steps, run.settings, options.launcher === 'accelerate' ? options.numProcesses : 1) : null;
  const equivalent = perEpoch === null ? null : resumeIsEquivalent(resume?.step ?? 0, perEpoch);
  if (resume) {
    result.resumedFrom = { step: resume.step, checkpoint: resume.dir, stepsPerEpoch: perEpoch, equivalent };
    reporter.phase(`resuming ${run.id} from ${path.basename(resume.dir)}`);
    if (equivalent === false) {
      const text = `resuming mid-epoch (step ${resume.step}, epochs of ${perEpoch} steps): the script repeats that epoch's first batches, so ${run.id} will not be what an uninterrupted run trains`;
      result.warnings.push(text);
      reporter.warn(text);
    }
  }
  if (resume || attemptNo > 1) await rewriteEventsForResume(layout.events, resume?.step ?? 0, resume?.dir ?? null, attemptNo, { stepsPerEpoch: perEpoch, equivalent });

  const trainer: TrainerSpec = {
    script: options.script.path,
    scriptSha256: options.script.sha256,
    scriptPinned: options.script.pinned,
    argv: resume ? [...run.argv, '--resume_from_checkpoint', resume.dir] : run.argv,
    outputDir: layout.output,
    events: layout.events,
    attempt: attemptNo,
    resumeFrom: resume?.dir ?? null,
    resumeStep: resume?.step ?? 0,
    stopAfterSave: !options.finalReload,
    stopOnNan: options.stopOnNan,
  };
  const model = run.argv[run.argv.indexOf('--pretrained_model_name_or_path') + 1] ?? '';
  const vae = run.argv[run.argv.indexOf('--pretrained_vae_model_name_or_path') + 1] ?? '';
  const command = trainCommand({
    python: options.python,
    launcher: options.launcher,
    numProcesses: options.numProcesses,
    trainPy: path.join(PYTHON_DIR, 'train.py'),
    specFile: layout.spec,
    accelerateConfig: layout.accelerateConfig,
    runDir: layout.dir,
    env: trainEnv({
      hubCache: context.hubCache,
      datasetsCache: layout.datasetsCache,
      runDir: layout.dir,
      offline: path.isAbsolute(model) && path.isAbsolute(vae),
      parentPid: process.pid,
      ...(options.device === 'cpu' ? { cpu: { threads: context.env.OMP_NUM_THREADS || '1' } } : {}),
    }),
  });
  await writeJsonAtomic(layout.spec, specRecord(run, trainer));
  await writeJsonAtomic(layout.command, commandRecord(command, attemptNo, options.launcher));
  await writeJsonAtomic(layout.env, envRecord(a.probe, { gitSha: await gitSha(), launcher: options.launcher }));
  if (options.launcher === 'accelerate') await writeFileAtomic(layout.accelerateConfig, accelerateConfigYaml(options.numProcesses, mixedPrecision, options.device === 'cpu'));
  const resumed = resume ? `, resumed from step ${resume.step}${equivalent === false ? ' (mid-epoch: not equivalent to an uninterrupted run)' : ''}` : '';
  await setStatus(layout.status, base, 'training', { message: `attempt ${attemptNo}${resumed}` });

  const startedAt = Date.now();
  const logFile = await open(layout.trainLog, 'a');
  await logFile.write(`\n===== harness: attempt ${attemptNo} of ${run.id} at ${new Date(startedAt).toISOString()}: ${[command.file, ...command.args].join(' ')}\n`);
  const logStart = (await logFile.stat()).size;
  const eventsStart = await stat(layout.events).then((s) => s.size, () => 0);
  const child = startGroup(command, logFile.fd, context.env);
  reporter.phase(`trainer started (pid ${child.pid}), log: ${layout.trainLog}`);

  const events = new EventLog();
  const eventsTail = new FileTail(layout.events, eventsStart);
  const logTail = new FileTail(layout.trainLog, logStart);
  const rate = new RateWindow();
  const total = run.steps?.maxTrainSteps ?? (typeof run.settings.max_train_steps === 'number' ? run.settings.max_train_steps : null);
  let exit: ExitInfo | undefined;
  const exited = child.exited.then((info) => (exit = info));
  const stopper = new GroupStopper<'interrupt' | 'nan' | 'leftover'>(child, options.killGraceMs);
  const onAbort = () => stopper.stop('SIGINT', 'interrupt');
  signal?.addEventListener('abort', onAbort, { once: true });
  let lastStep = -1;
  try {
    while (!exit) {
      await Promise.race([sleep(options.pollMs), exited]);
      let moved = false;
      const batch: TrainEvent[] = [];
      for (const line of await eventsTail.poll()) {
        const event = events.ingestLine(line);
        if (event) batch.push(event);
        if (event?.type === 'metric') {
          rate.add(event);
          moved = true;
        }
      }
      if (batch.length > 0) a.onEvents?.(batch);
      if (events.firstNonFinite && options.stopOnNan) stopper.stop('SIGTERM', 'nan');
      let note: string | undefined;
      if (!events.lastMetric) note = lastLogLine(await logTail.pollText());
      if (moved || note || (events.lastMetric?.step ?? 0) !== lastStep) {
        lastStep = events.lastMetric?.step ?? 0;
        reporter.progress(snapshotFrom(run.id, events.lastMetric, total, rate, startedAt, note));
      }
    }
    const rest: TrainEvent[] = [];
    for (const line of await eventsTail.poll()) {
      const event = events.ingestLine(line);
      if (event) rest.push(event);
    }
    if (rest.length > 0) a.onEvents?.(rest);
    if (groupAlive(child.pid)) await stopper.stop('SIGTERM', 'leftover');
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stopper.dispose();
    await eventsTail.close();
    await logTail.close();
    await logFile.close();
  }
  const finished = exit!;

  const tail = logTailLines(await readTail(layout.trainLog, logStart), 50);
  let weightsCheck: LoraCheck | undefined;
  if (events.weights) {
    weightsCheck = await checkLoraFile(events.weights.path, { rank: Number(run.settings.rank ?? 4), trainTextEncoder: run.settings.train_text_encoder === true });
  }
  const verdict = classifyAttempt({
    weights: events.weights,
    weightsCheck,
    end: events.end,
    firstNonFinite: events.firstNonFinite,
    exitCode: finished.exitCode,
    signal: finished.signal,
    spawnError: finished.spawnError,
    interrupted: stopper.cause === 'interrupt',
    killedByHarness: stopper.sentKill,
    logTail: tail,
    settings: run.settings,
  });
  const all = await readEventLog(layout.events);
  result.outcome = verdict.state === 'trained' ? 'trained' : 'failed';
  if (verdict.reason) result.reason = verdict.reason;
  result.message = verdict.message;
  result.totalSteps = total;
  result.summary = all.summary();
  result.exitCode = finished.exitCode;
  result.signal = finished.signal;
  result.wallSeconds = (Date.now() - startedAt) / 1000;
  if (events.weights && weightsCheck?.ok) {
    result.weights = { path: events.weights.path, bytes: weightsCheck.bytes, tensors: weightsCheck.tensors, ranks: weightsCheck.ranks };
  }
  if (verdict.state === 'failed') result.logTail = tail;
  await setStatus(layout.status, base, verdict.state, {
    ...(verdict.reason ? { reason: verdict.reason } : {}),
    message: verdict.message,
    ...(verdict.state === 'failed' ? { logTail: tail } : {}),
    exitCode: finished.exitCode,
    signal: finished.signal,
  });
  await writeJsonAtomic(layout.trainResult, result);
  return result;
}

function emptyResult(run: RunSpec, layout: RunLayout): TrainResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: run.id,
    variant: run.variant,
    runDir: layout.dir,
    outcome: 'failed',
    message: '',
    attempt: null,
    resumedFrom: null,
    totalSteps: null,
    summary: null,
    weights: null,
    exitCode: null,
    signal: null,
    wallSeconds: null,
    warnings: [],
    preflight: null,
  };
}

function alreadyTrained(result: TrainResult, status: RunStatus): TrainResult {
  result.outcome = 'already_trained';
  const state = status.state === 'failed' ? `a later stage failed: ${status.reason ?? 'unknown'}` : `state ${status.state}`;
  result.message = `already trained (${state}): a finished training is never started again; change a setting (or --set) for a new run id`;
  return result;
}

function interruptedBeforeStart(result: TrainResult): TrainResult {
  result.reason = 'interrupted';
  result.message = 'interrupted before the trainer started';
  return result;
}

function findingText(finding: PreflightFinding): string {
  return `${finding.message}${finding.hint ? ` (${finding.hint})` : ''}`;
}

async function countStarts(eventsFile: string): Promise<number> {
  const text = await readFile(eventsFile, 'utf8').catch(() => '');
  let count = 0;
  for (const line of text.split('\n')) if (line.includes('"type":"start"')) count += 1;
  return count;
}

async function readTail(file: string, from: number, maxBytes = 256 * 1024): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(from, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

function lastLogLine(text: string): string | undefined {
  const parts = text.split(/[\r\n]+/).map((p) => p.trim()).filter(Boolean);
  const last = parts[parts.length - 1];
  return last ? last.slice(0, 160) : undefined;
}

let cachedGitSha: Promise<string | null> | undefined;
function gitSha(): Promise<string | null> {
  cachedGitSha ??= runCapture('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, timeoutMs: 10_000 }).then(
    (r) => (r.exitCode === 0 ? r.stdout.trim() : null),
    () => null,
  );
  return cachedGitSha;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
