import { Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { ExitCode } from '../errors.ts';
import type { PipelineFlags } from '../pipeline/session.ts';
import type { RunSpec } from '../plan/planner.ts';
import type { SweepReporter, SweepResult } from '../sweep/sweep.ts';
import { STARTUP_IDLE, SweepEta } from '../sweep/timing.ts';
import type { ProgressSnapshot } from '../train/progress.ts';
import { collectList, datasetOption, deprecated, interruptible, jsonOption, modelOptions, pythonOption, reportDirOption, scriptOption, SHARED_FLAGS, storeOption, unpinnedOption, wholeNumber } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit, type Io } from './io.ts';
import { duration, gib, LOSS_LABEL, progressReporter, sampleImageLines, wandbBehindLine } from './run.ts';
import { table } from './table.ts';

/** The parsed command line: sweep's own flags plus the ones `harness run` shares (PipelineFlags). */
interface SweepFlags extends PipelineFlags {
  variant?: string[];
  only?: string[];
  reportDir?: string;
  maxRuns?: number;
  failFast?: boolean;
  report?: boolean;
  out?: string;
  check?: boolean;
  unpinned?: boolean;
  gpus?: string;
  json?: boolean;
  store?: string;
  dataset?: string;
  script?: string;
}

export function defineSweep(program: Command, ctx: CliContext): void {
  const command = program
    .command('sweep')
    .description('run the whole experiment: train → sample → score → mirror → report for every planned run, resumable')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--variant <name>', SHARED_FLAGS.variant, collectList)
    .option('--only <names>', 'deprecated spelling of --variant (comma-separated variant names)', collectList)
    .option('--max-runs <n>', 'at most n runs (in plan order)', wholeNumber)
    .option('--fail-fast', 'start no further run once one fails (default: record the failure and go on)')
    .option('--no-report', 'do not write the report at the end')
    .addOption(new Option('--out <dir>', 'deprecated: use --report-dir').hideHelp())
    .option('--check', 'run the regression check against the goldens at the end (exit 1 on a regression)')
    .option('--gpus <ids>', 'one worker per GPU, e.g. 0,1 (each worker\'s children see only its GPU)')
    .addOption(new Option('--launcher <name>', 'python: one process; accelerate: `accelerate launch`').choices(['python', 'accelerate']).default('python'))
    .option('--num-processes <n>', 'processes for --launcher accelerate', wholeNumber)
    .option('--no-preflight', 'skip the Python/GPU checks: only for stand-in trainers in tests, never a fix for a missing GPU')
    .option('--final-reload', "let the script do its full-pipeline reload after saving (skipped by default)")
    .addOption(new Option('--device <device>', 'where training and sampling run (default: cuda when torch sees a GPU, else cpu)').choices(['cuda', 'cpu']))
    .option('--batch-size <n>', 'images per sampler batch', wholeNumber)
    .addHelpText(
      'after',
      `
Finished runs (same id) are skipped; an interrupted run resumes where it stopped (training from its last
complete checkpoint, sampling from its last image, scoring from its cache). Scoring, W&B uploads and the
report of one run overlap the training of the next, so the GPU waits only for what needs it.

Before any run folder exists, the environment (Python packages, torch, the GPU) and the dataset are
checked once for every run still to train; what stops the sweep is printed whole (exit 2).

Several sweeps may share one store (one per GPU, or --gpus 0,1): run locks make sure no run is done twice.
Ctrl-C (or SIGTERM) once stops cleanly: the trainer is stopped, the run marked interrupted, locks released;
twice forces.

${exitCodesHelp('sweep')}

Examples:
  harness sweep experiments/tok-boy.yaml --variant baseline       # a short first try
  harness sweep experiments/tok-boy.yaml --store /content/drive/MyDrive/harness/runs
  harness sweep experiments/tok-boy.yaml --gpus 0,1 --check`,
    );
  reportDirOption(command);
  unpinnedOption(command);
  scriptOption(command);
  pythonOption(command);
  modelOptions(command);
  storeOption(datasetOption(jsonOption(command))).action(async (experiment: string, opts: SweepFlags) => {
    const { sweep } = await import('../commands/sweep.ts');
    if (opts.only) deprecated(ctx.io, '--only', '--variant (repeat it or comma-separate names)');
    if (opts.out !== undefined) deprecated(ctx.io, 'sweep --out', '--report-dir');
    const variants = [...(opts.variant ?? []), ...(opts.only ?? [])];
    const view = sweepView(ctx.io);
    const stop = interruptible(ctx.io, 'stopping cleanly (the run in progress is marked interrupted)', {
      say: (text) => view.reporter.line(text),
      forced: 'trainers and samplers stop on their own when the harness is gone',
    });
    const { onTrackingNotice } = await import('../tracking/notices.ts');
    const stopNotices = onTrackingNotice((line) => view.reporter.line(line));
    let result: SweepResult;
    try {
      result = await sweep({
        experiment,
        cwd: ctx.io.cwd,
        env: ctx.io.env,
        reporter: view.reporter,
        signal: stop.signal,
        ...definedOnly({
          store: opts.store,
          dataset: opts.dataset,
          variants: variants.length ? variants : undefined,
          maxRuns: opts.maxRuns,
          failFast: opts.failFast,
          report: opts.report,
          reportOut: opts.reportDir ?? opts.out,
          check: opts.check,
          unpinned: opts.unpinned,
          gpus: opts.gpus?.split(',').map((s) => s.trim()).filter(Boolean),
          script: opts.script,
          python: opts.python,
          launcher: opts.launcher,
          numProcesses: opts.numProcesses,
          preflight: opts.preflight,
          finalReload: opts.finalReload,
          model: opts.model,
          vae: opts.vae,
          device: opts.device,
          batchSize: opts.batchSize,
        }),
      });
    } finally {
      stopNotices();
      view.finish();
      stop.dispose();
    }
    const { syncCommand } = await import('../tracking/backlog.ts');
    emit(ctx.io, opts.json, result, (r, io) => renderSweep(r, io, (runId) => syncCommand(experiment, runId, opts.store)));
    if (result.interrupted) ctx.setExitCode(ExitCode.interrupted);
    else if (result.runs.some((r) => r.outcome === 'failed') || result.check?.verdict === 'regression') ctx.setExitCode(ExitCode.failed);
    else if (result.check?.verdict === 'inconclusive') ctx.setExitCode(ExitCode.inconclusive);
  });
}

function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Timestamped lines for every step of the sweep; training progress as a live line on a TTY, prefixed with
 * the sweep's position and an ETA for the rest of it (sweep/timing.ts: the current run's ETA plus the
 * remaining runs' steps at the measured s/it, and the measured time around training; "≥" until measured).
 */
function sweepView(io: Io): { reporter: SweepReporter; finish(): void } {
  const progress = progressReporter(io);
  const stamp = () => new Date().toISOString().slice(11, 19);
  let order: RunSpec[] = [];
  const warned = new Set<string>();
  const imageLine = sampleImageLines();
  const eta = new SweepEta();
  const now = () => performance.now() / 1000;
  const sweepPrefix = (run: RunSpec, snapshot: ProgressSnapshot): string => {
    const index = order.findIndex((r) => r.id === run.id);
    const position = `[run ${index + 1}/${order.length}]`;
    if (snapshot.secondsPerStep === null || snapshot.etaSeconds === null) return position;
    const later = order.slice(index + 1).map((r) => r.steps?.maxTrainSteps ?? Number(r.settings.max_train_steps ?? 0));
    const estimate = eta.estimate({ etaSeconds: snapshot.etaSeconds, secondsPerStep: snapshot.secondsPerStep }, later);
    return `${position.slice(0, -1)}, sweep ETA ${estimate.lowerBound ? '≥' : ''}${duration(estimate.seconds)}]`;
  };
  return {
    reporter: {
      start: (runs) => {
        order = runs;
      },
      line: (text) => progress.phase(`[${stamp()}] ${text}`),
      warn: (text) => {
        if (warned.has(text)) return;
        warned.add(text);
        progress.warn(text);
      },
      train: (_worker, run) => {
        eta.started(run.id, now());
        progress.newRun();
        return {
          phase: (message) => progress.phase(message),
          // the same warning for every run (e.g. a local --script) is said once
          warn: (message) => {
            if (warned.has(message)) return;
            warned.add(message);
            progress.warn(message);
          },
          progress: (snapshot) => {
            if (snapshot.step > 0) eta.step(run.id, now());
            progress.progress({ ...snapshot, runId: `${sweepPrefix(run, snapshot)} ${snapshot.runId}` });
          },
        };
      },
      gpuEnded: (_worker, run, secondsPerStep) => eta.ended(run.id, now(), secondsPerStep),
      sample: (_worker, p) => {
        if (p.type === 'set-start' && p.todo > 0) progress.phase(`[${stamp()}] ${p.runId ?? 'control'}: sampling ${p.setId} (${p.todo}/${p.total} images to render)`);
        const image = imageLine(p);
        if (image) progress.phase(`[${stamp()}] ${image}`);
        if (p.type === 'waiting') progress.phase(`[${stamp()}] waiting for ${p.setId}, held by pid ${p.heldBy.pid}`);
      },
    },
    finish: () => progress.finish(),
  };
}

/** A run whose final weights were scored, none of their images with a usable face. */
function scoredWithoutFace(run: SweepResult['runs'][number]): boolean {
  return run.identity === null && (run.outcome === 'done' || (run.outcome === 'already_done' && run.finalScored === true));
}

/** Where the sweep's wall time went. "GPU" only when the environment check saw one (a --no-preflight sweep of a stand-in trainer has none). */
function timeLine(r: SweepResult): string {
  const startUp = r.gpu.idle.filter((i) => i.why === STARTUP_IDLE).reduce((sum, i) => sum + i.seconds, 0);
  const between = r.gpu.idle.filter((i) => i.why !== STARTUP_IDLE).reduce((sum, i) => sum + i.seconds, 0);
  const wall = `wall ${duration(r.wallSeconds)}`;
  if (r.gpu.busySeconds === 0 && startUp + between === 0) {
    const allDone = r.runs.length > 0 && r.runs.every((run) => run.outcome === 'already_done');
    return `${wall} · nothing was trained or sampled${allDone ? ': every run was done before' : ''}`;
  }
  if (r.gpu.seen) {
    const why = r.gpu.idle.length ? ` (${r.gpu.idle.map((i) => `${i.why}: ${duration(i.seconds)}`).join('; ')})` : '';
    return `${wall} · GPU busy ${duration(r.gpu.busySeconds)} · GPU idle ${duration(startUp + between)}${why} · after the last GPU stage ${duration(r.gpu.cpuTailSeconds)} (scoring, report)`;
  }
  return (
    `${wall} · start-up ${duration(startUp)} · training and sampling ${duration(r.gpu.busySeconds)} · between runs ${duration(between)}` +
    ` · scoring and report after the last run ${duration(r.gpu.cpuTailSeconds)}${r.gpu.seen === false ? ' (no GPU seen)' : ''}`
  );
}

export function renderSweep(r: SweepResult, io: Io, syncCommand?: (runId: string) => string): string {
  const paint = (outcome: string) => (outcome === 'done' ? io.style.green(outcome) : outcome === 'failed' || outcome === 'interrupted' ? io.style.red(outcome) : outcome);
  const rows = r.runs.map((run) => [
    run.id,
    paint(run.outcome) + (run.reason ? ` (${run.reason})` : ''),
    run.gpuSeconds + run.cpuSeconds > 0 ? duration(run.gpuSeconds + run.cpuSeconds) : '',
    run.finalLoss === null ? '' : run.finalLoss.toPrecision(3),
    run.peakVramMb === null ? '' : gib(run.peakVramMb),
    run.identity !== null ? run.identity.toFixed(3) : scoredWithoutFace(run) ? '–' : '',
  ]);
  // a done run without an identity was scored on zero faces: a dash, said in words, never a blank or a 0
  const unmeasured = r.runs.filter(scoredWithoutFace).map((run) => run.id);
  const lines = ['', table(['run', 'status', 'time', `loss (${LOSS_LABEL})`, 'peak VRAM', 'identity'], rows), '', timeLine(r)];
  if (unmeasured.length) lines.push(`identity not measured (–) for ${unmeasured.join(', ')}: no image of the final weights had a usable face`);
  const elsewhere = r.runs.filter((run) => run.outcome === 'elsewhere');
  if (elsewhere.length) lines.push(`${elsewhere.length} run(s) are in the hands of another process: ${elsewhere.map((e) => `${e.id} (${e.message})`).join(', ')}`);
  if (r.failFastStopped) lines.push('--fail-fast stopped the sweep after a failure');
  if (r.interrupted) lines.push('interrupted: run the same command again to resume');
  // what W&B still lacks first; the report (and the check) last, where the eye lands when the sweep ends
  for (const run of r.runs) if (run.wandb) lines.push(wandbBehindLine(run.id, run.wandb, io, syncCommand?.(run.id)));
  if (r.report) lines.push(`report: ${r.report.path}`);
  if (r.check) lines.push(`regression check: ${r.check.verdict} (${r.check.tier} tier) · ${r.check.report}`);
  if (r.check?.inconclusive) lines.push(`  ${r.check.inconclusive.reason}`, `  way out: ${r.check.inconclusive.hint}`);
  return lines.join('\n');
}
