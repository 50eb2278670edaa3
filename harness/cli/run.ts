import { Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { ExitCode, UsageError } from '../errors.ts';
import type { RunSelector } from '../pipeline/resolve.ts';
import type { SampleProgress } from '../samples/render.ts';
import { gib } from '../report/format.ts';
import { LOSS_EMA_FACTOR } from '../train/events.ts';
import type { ProgressSnapshot, TrainReporter } from '../train/progress.ts';
import { collectList, datasetOption, jsonOption, modelOptions, pythonOption, scriptOption, SHARED_FLAGS, single, storeOption, unpinnedOption, wholeNumber } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit, liveLine, type Io } from './io.ts';

interface RunFlags {
  variant?: string[];
  unpinned?: boolean;
  index?: number;
  paramsJsonFile?: string;
  until?: 'train' | 'sample' | 'score';
  device?: 'cuda' | 'cpu';
  batchSize?: number;
  json?: boolean;
  store?: string;
  dataset?: string;
  model?: string;
  vae?: string;
  script?: string;
  python?: string;
  launcher?: 'python' | 'accelerate';
  numProcesses?: number;
  set?: string[];
  preflight?: boolean;
  finalReload?: boolean;
}

function selectorOf(opts: RunFlags): RunSelector {
  const variant = single('--variant', opts.variant, '`harness run` does one run; `harness sweep --variant a,b` does several');
  const given = [variant !== undefined, opts.index !== undefined, opts.paramsJsonFile !== undefined].filter(Boolean).length;
  if (given !== 1) {
    throw new UsageError('name exactly one run: --variant NAME, --index N or --params-json-file FILE', 'see `harness plan <experiment>` for the runs and their order');
  }
  if (variant !== undefined) return { variant };
  if (opts.index !== undefined) return { index: opts.index };
  return { paramsFile: opts.paramsJsonFile! };
}

export function defineRun(program: Command, ctx: CliContext): void {
  const command = program
    .command('run')
    .description('one run end to end: train through the real diffusers script, sample, score (resumes an interrupted run)')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--variant <name>', SHARED_FLAGS.variant, collectList)
    .option('--index <n>', 'which run, by its position in `harness plan` (a SLURM array task passes $SLURM_ARRAY_TASK_ID)', wholeNumber)
    .option('--params-json-file <file>', 'the baseline plus these settings (a W&B sweep agent passes ${args_json_file}); {"variant": …} names a run')
    .addOption(new Option('--until <stage>', 'stop after this stage').choices(['train', 'sample', 'score']).default('score'))
    .addOption(new Option('--device <device>', 'where training and sampling run (default: cuda when torch sees a GPU, else cpu)').choices(['cuda', 'cpu']))
    .option('--batch-size <n>', 'images per sampler batch (default 1, for a 16 GB card at 1024²)', wholeNumber)
    .addOption(new Option('--launcher <name>', 'python: one process; accelerate: `accelerate launch` with a harness-owned config').choices(['python', 'accelerate']).default('python'))
    .option('--num-processes <n>', 'processes for --launcher accelerate', wholeNumber)
    .option('--set <key=value...>', 'one-off training setting (diffusers flag without dashes); gives a new run id')
    .option('--no-preflight', 'skip the Python/GPU checks: only for stand-in trainers in tests, never a fix for a missing GPU')
    .option('--final-reload', "let the script do its full-pipeline reload after saving (skipped by default: it OOMs Colab's RAM)")
    .addHelpText(
      'after',
      `
Exactly one of --variant, --index and --params-json-file names the run. Under a W&B sweep agent
(WANDB_RUN_ID and WANDB_SWEEP_ID set), the W&B run takes the agent's name and joins its sweep.

Before the run folder exists, the environment (Python packages, torch, the GPU), the dataset and the
model folders are checked; what stops the run is printed whole (exit 2). Unpinned models are refused
unless --unpinned (or local --model/--vae folders), as \`harness sweep\` refuses them.

Everything is decided before the trainer starts: the run folder gets spec.json, command.json, env.json and
status.json, then \`python python/train.py <run>/spec.json\` runs the unmodified script in its own process
group. Metrics (loss, lr, VRAM per optimizer step) stream into events.jsonl; stdout/stderr into train.log.

A finished run is never trained again. An interrupted or failed run resumes from the newest complete
checkpoint of its own output folder. Ctrl-C stops the trainer (the run is marked interrupted, exit 130;
the same command resumes it).

${exitCodesHelp('run')}

Examples:
  harness setup experiments/tok-boy.yaml && harness run experiments/tok-boy.yaml --variant baseline
  harness run experiments/tok-boy.yaml --variant lr-low --store /content/drive/MyDrive/runs
  harness run experiments/tok-boy.yaml --variant baseline --set max_train_steps=50 --set checkpointing_steps=25
  harness run experiments/tok-boy.yaml --variant baseline --model ~/sdxl-base --vae ~/sdxl-vae-fp16-fix
  harness run experiments/tok-boy.yaml --index "$SLURM_ARRAY_TASK_ID" --store /shared/runs
  harness run experiments/tok-boy.yaml --params-json-file params.json --until train`,
    );
  unpinnedOption(command);
  scriptOption(command);
  pythonOption(command);
  modelOptions(command);
  storeOption(datasetOption(jsonOption(command))).action(async (experiment: string, opts: RunFlags) => {
    const { run } = await import('../commands/run.ts');
    const reporter = progressReporter(ctx.io);
    const controller = new AbortController();
    const onSignal = () => {
      if (controller.signal.aborted) return;
      reporter.phase('interrupt: stopping the trainer…');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const { onTrackingNotice } = await import('../tracking/notices.ts');
    const stopNotices = onTrackingNotice((line) => reporter.phase(line));
    const imageLine = sampleImageLines();
    let result;
    try {
      result = await run({
        experiment,
        cwd: ctx.io.cwd,
        env: ctx.io.env,
        selector: selectorOf(opts),
        ...(opts.until ? { until: opts.until } : {}),
        ...(opts.device ? { device: opts.device } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        onSampleProgress: (progress) => {
          if (progress.type === 'set-start') reporter.phase(`sampling ${progress.setId} (${progress.weights}): ${progress.todo} of ${progress.total} images to render`);
          const line = imageLine(progress);
          if (line) reporter.phase(line);
          if (progress.type === 'redo') reporter.warn(`${progress.file}: ${progress.why}; rendering it again`);
        },
        ...(opts.store ? { store: opts.store } : {}),
        ...(opts.dataset ? { dataset: opts.dataset } : {}),
        ...(opts.model ? { model: opts.model } : {}),
        ...(opts.vae ? { vae: opts.vae } : {}),
        ...(opts.script ? { script: opts.script } : {}),
        ...(opts.python ? { python: opts.python } : {}),
        ...(opts.launcher ? { launcher: opts.launcher } : {}),
        numProcesses: Math.max(1, opts.numProcesses ?? 1),
        unpinned: opts.unpinned === true,
        set: opts.set ?? [],
        preflight: opts.preflight !== false,
        finalReload: opts.finalReload === true,
        reporter,
        signal: controller.signal,
      });
    } finally {
      stopNotices();
      reporter.finish();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const { syncCommand } = await import('../tracking/backlog.ts');
    emit(ctx.io, opts.json, result, (r, io) => {
      // a run the user stopped is interrupted, not failed: the same command resumes it
      const head =
        r.outcome === 'trained'
          ? `${io.style.green('trained')} ${r.runId}: ${r.message}`
          : r.outcome === 'already_trained'
            ? `${r.runId}: ${r.message}`
            : r.reason === 'interrupted'
              ? `${io.style.yellow('interrupted')} ${r.runId}: ${r.message}`
              : `${io.style.red('failed')} ${r.runId} (${r.reason}): ${r.message}`;
      const lines = [head];
      const s = r.summary;
      if (s && s.steps > 0) {
        const facts = [
          `steps ${s.lastStep}${r.totalSteps ? `/${r.totalSteps}` : ''}`,
          s.finalLoss !== null ? `loss (${LOSS_LABEL}) final ${s.finalLoss.toPrecision(3)}, min ${s.minLoss?.toPrecision(3)}` : null,
          s.peakVramMb !== null ? `peak VRAM ${gib(s.peakVramMb)}` : null,
          s.secondsPerStep !== null ? `${s.secondsPerStep.toFixed(2)} s/it` : null,
          r.wallSeconds !== null ? `wall ${duration(r.wallSeconds)}` : null,
        ].filter(Boolean);
        lines.push(`  ${facts.join(' · ')}`);
      }
      if (r.resumedFrom) lines.push(`  resumed from ${r.resumedFrom.checkpoint}`);
      for (const missing of r.missingSets) lines.push(`  ${io.style.yellow('not made')} ${missing.what}: ${missing.why}`);
      if (r.outcome === 'failed' && r.reason !== 'interrupted' && r.logTail?.length) {
        lines.push(io.style.dim('  last lines of train.log:'), ...r.logTail.slice(-12).map((l) => io.style.dim(`    ${l}`)));
      }
      for (const set of r.samples) lines.push(`  samples ${set.kind} ${set.setId}: ${set.images} images`);
      if (r.identity !== null) lines.push(`  identity (final weights): ${r.identity.toFixed(3)}`);
      if (r.state === 'done') lines.push(`  ${io.style.green('done')}: trained, sampled and scored`);
      else if (r.reason === 'interrupted') lines.push(`  run the same command again to resume`);
      else if (r.state !== 'failed') lines.push(`  stopped after: ${r.state}`);
      lines.push(`  run folder: ${r.runDir}`);
      if (r.tracking?.error && r.tracking.mode !== 'disabled') {
        lines.push(wandbBehindLine(r.runId, { mode: r.tracking.mode, text: r.tracking.error }, io, syncCommand(experiment, r.runId, opts.store)));
      }
      return lines.join('\n');
    });
    if (result.outcome === 'failed' || result.state === 'failed') ctx.setExitCode(result.reason === 'interrupted' ? ExitCode.interrupted : ExitCode.failed);
  });
}

// Training progress on stderr (stdout stays clean for --json): one live line on a TTY, plain periodic
// lines otherwise (logs, CI). Exported for `harness sweep`.

/**
 * Training progress on stderr: a live line redrawn at most every 250 ms on a TTY; otherwise (logs,
 * notebooks) a plain line at each tenth of the run and at least every `plainEverySeconds` (30). `newRun()`
 * starts the tenths again for the next run of a sweep, so every run's progress is shown, not only the first's.
 */
export function progressReporter(io: Io, options: { plainEverySeconds?: number } = {}): TrainReporter & { finish(): void; newRun(): void } {
  const tty = Boolean(io.stderr.isTTY);
  const every = (options.plainEverySeconds ?? 30) * 1000;
  const live = liveLine(io);
  let lastDraw = 0;
  let lastPlain = 0;
  let lastDecile = -1;
  let pending: ProgressSnapshot | undefined;
  const say = (text: string) => {
    live.clear();
    io.stderr.write(`${text}\n`);
  };
  const draw = (snapshot: ProgressSnapshot) => live.draw(formatProgress(snapshot));
  return {
    phase: (message) => say(io.style.dim(message)),
    warn: (message) => say(`${io.style.yellow('warning')} ${message}`),
    progress(snapshot) {
      const now = Date.now();
      if (tty) {
        pending = snapshot;
        if (now - lastDraw < 250) return; // the trainer may report hundreds of steps a second
        lastDraw = now;
        draw(snapshot);
        pending = undefined;
        return;
      }
      if (snapshot.step === 0) return;
      const decile = snapshot.total ? Math.floor((10 * snapshot.step) / snapshot.total) : -1;
      if (now - lastPlain >= every || decile > lastDecile) {
        lastPlain = now;
        lastDecile = decile;
        io.stderr.write(`${formatProgress(snapshot)}\n`);
      }
    },
    finish() {
      if (pending && tty) draw(pending);
      live.clear();
    },
    newRun() {
      lastDecile = -1;
      lastPlain = 0;
    },
  };
}

export function formatProgress(s: ProgressSnapshot): string {
  if (s.step === 0 && s.note) return `${s.runId}  starting… ${s.note}`;
  const parts = [s.runId, s.total ? `step ${s.step}/${s.total} (${Math.floor((100 * s.step) / s.total)}%)` : `step ${s.step}`];
  if (s.loss !== null) parts.push(`loss ${s.loss.toPrecision(3)} (this step)`);
  if (s.secondsPerStep !== null) parts.push(s.secondsPerStep >= 1 ? `${s.secondsPerStep.toFixed(2)} s/it` : `${(1 / s.secondsPerStep).toFixed(2)} it/s`);
  if (s.etaSeconds !== null) parts.push(`ETA ${duration(s.etaSeconds)}`);
  if (s.vramMb !== null) parts.push(`VRAM ${gib(s.vramMb)}${s.vramPeakMb !== null ? ` (peak ${gib(s.vramPeakMb)})` : ''}`);
  return parts.join('  ');
}

/** One line per run W&B lacks something of: what, why in plain words, and the command that sends it later. */
export function wandbBehindLine(runId: string, backlog: { mode: string; text: string }, io: Io, syncCommand?: string): string {
  const head = io.style.yellow(backlog.mode === 'offline' ? 'W&B offline' : 'W&B behind');
  return `${head} ${runId}: ${backlog.text}${syncCommand ? `; send later: ${syncCommand}` : ''}`;
}

/**
 * One line per rendered image, with the set's ETA (the mean seconds per image so far × the images left): an
 * SDXL image takes seconds to a minute, so a set of 36 is long enough to want to know where it stands.
 */
export function sampleImageLines(): (progress: SampleProgress) => string | null {
  const sets = new Map<string, { label: string; seconds: number; rendered: number }>();
  return (progress) => {
    if (progress.type === 'set-start') sets.set(progress.setId, { label: progress.runId ?? 'control', seconds: 0, rendered: 0 });
    if (progress.type !== 'image' || progress.skipped) return null;
    const set = sets.get(progress.setId) ?? { label: progress.setId, seconds: 0, rendered: 0 };
    sets.set(progress.setId, set);
    set.rendered += 1;
    set.seconds += progress.seconds ?? 0;
    const line = `${set.label}: ${progress.setId} image ${progress.index}/${progress.total} ${progress.file}`;
    if (progress.seconds === undefined) return line;
    return `${line} (${progress.seconds.toFixed(1)} s, ETA ${duration((set.seconds / set.rendered) * (progress.total - progress.index))})`;
  };
}

/** VRAM for people, in GiB (the MiB of the events ÷ 1024): the report's own function, so both print the same. */
export { gib };

/** How the console labels the loss it prints: the report's smoothed loss, same factor. */
export const LOSS_LABEL = `EMA ${LOSS_EMA_FACTOR}`;

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}
