import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { ExitCode } from '../errors.ts';
import type { ScoreProgress } from '../commands/score.ts';
import { MARKERS, type Aggregate, type ScoreReport } from '../scoring/types.ts';
import { duration } from './run.ts';
import { interruptible, jsonOption, outFileOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit, liveLine, type Io } from './io.ts';
import { table } from './table.ts';

const MARKER_COLUMNS = ['identity', 'nose', 'neck', 'curls'] as const;

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return n;
}

function cell(value: number | null): string {
  return value === null ? '–' : value.toFixed(3);
}

function aggregateCell(a: Aggregate | undefined): string {
  if (!a || a.mean === null) return `– (0/${a?.total ?? 0})`;
  const ci = a.ci95 ? ` [${a.ci95[0].toFixed(2)}, ${a.ci95[1].toFixed(2)}]` : '';
  return `${a.mean.toFixed(3)}${ci} (${a.n}/${a.total})`;
}

function measuredAnything(report: ScoreReport): boolean {
  return report.images.some((image) => MARKERS.some((m) => typeof image[m] === 'number'));
}

function render(report: ScoreReport, io: Io): string {
  const rows = report.images.map((image) => [
    image.file,
    image.error ? io.style.red('unreadable') : image.face ? 'yes' : 'no',
    ...MARKER_COLUMNS.map((m) => cell(image[m])),
    Object.entries(image.missing)
      .map(([marker, reason]) => `${marker}:${reason}`)
      .join(' '),
  ]);
  const lines = [
    `${report.images.length} images scored against ${report.reference.count} reference photos (${report.reference.dir ?? ''}) · scorer ${report.scorer.version}`,
    '',
    table(['image', 'face', ...MARKER_COLUMNS, 'missing'], rows),
    '',
    io.style.bold('Summary') + ' (mean [bootstrap 95 % interval] (images with a value / all))',
    table(
      ['', ...MARKER_COLUMNS],
      [
        ['images', ...MARKER_COLUMNS.map((m) => aggregateCell(report.summary[m]))],
        ['ceiling (references, leave-one-out)', ...MARKER_COLUMNS.map((m) => aggregateCell(report.reference.ceiling[m]))],
      ],
    ),
  ];
  if (report.perPrompt) {
    lines.push('', io.style.bold('Per prompt'));
    lines.push(table(['prompt', ...MARKER_COLUMNS], Object.entries(report.perPrompt).map(([p, a]) => [p, ...MARKER_COLUMNS.map((m) => aggregateCell(a[m]))])));
  }
  const missing = Object.entries(report.missingCounts ?? {})
    .map(([marker, reasons]) => [marker, Object.entries(reasons).map(([reason, n]) => `${n} ${reason}`).join(', ')])
    .filter(([, text]) => text);
  if (missing.length) lines.push('', io.style.bold('Not scored'), ...missing.map(([marker, text]) => `  ${marker}: ${text}`));
  for (const warning of report.reference.warnings ?? []) lines.push(`${io.style.yellow('note')} references: ${warning}`);
  return lines.join('\n');
}

/**
 * How far `harness score` is. On a terminal: one live line (images done, images/s, ETA, workers), redrawn at
 * most every quarter second and cleared at the end. Elsewhere (logs, notebooks): one plain line per reference
 * photo and per image, so a long scoring is never silent.
 */
export function scoreProgress(
  io: Io,
  now: () => number = () => performance.now(),
): { update: (p: ScoreProgress) => void; reference: (r: { done: number; total: number; file: string }) => void; finish: () => void } {
  const tty = Boolean(io.stderr.isTTY);
  let started = 0;
  let lastDraw = -Infinity;
  const live = liveLine(io);
  const rateAndEta = (p: ScoreProgress, t: number): string[] => {
    const seconds = (t - started) / 1000;
    const rate = p.done > 0 && seconds > 0 ? p.done / seconds : null;
    return rate === null ? [] : [`${rate.toFixed(1)} images/s`, `ETA ${duration((p.total - p.done) / rate)}`];
  };
  return {
    reference(r) {
      if (tty) live.draw(`reading the reference photos ${r.done}/${r.total}`);
      else io.stderr.write(`${io.style.dim(`reference ${r.done}/${r.total}`)} ${r.file}\n`);
    },
    update(p) {
      const t = now();
      if (p.done === 0) started = t;
      if (!tty) {
        if (p.done > 0) io.stderr.write(`${io.style.dim(`scored ${p.done}/${p.total}`)} ${rateAndEta(p, t).join(' · ')}\n`.replace(/ \n$/, '\n'));
        return;
      }
      if (p.done !== 0 && p.done !== p.total && t - lastDraw < 250) return;
      lastDraw = t;
      const parts = [`scoring ${p.done}/${p.total} images`, ...rateAndEta(p, t), `${p.workers} worker${p.workers === 1 ? '' : 's'}`];
      live.draw(parts.join(' · '));
    },
    finish: () => live.clear(),
  };
}

export function defineScore(program: Command, ctx: CliContext): void {
  const command = program
    .command('score')
    .description('score a folder of images for identity consistency against reference photos (CPU only)')
    .argument('<images-dir>', 'folder of PNG, JPEG or WebP images, e.g. a sample set or images made elsewhere')
    .requiredOption('--reference <dir>', 'folder of reference photos of the person (the training photos)')
    .option('--cache <dir>', 'cache per-image features here (keyed by image sha256 + scorer version)')
    .option('--workers <n>', 'worker threads, each loading the models once, about 320 MB each (default: one per core, as many as the free memory holds)', positiveInteger)
    .option('--embeddings', 'include the 1024-d face embedding of each image in the JSON')
    .addHelpText(
      'after',
      `
Scores, each relative to the reference photos (1 = like the references):
  identity  cosine of the face embedding (Human's FaceRes) to the centroid of the reference embeddings
  nose      nose ratios from the face mesh, typicality against the references: 1 = typical,
            exp(-d²/2) at d reference standard deviations; needs a near-frontal face
  neck      chin-to-shoulder length / face height, typicality as above; needs visible, level shoulders.
            Without a usable face (back view): ears-to-shoulders length / shoulder span against the
            references' same keypoint measure; needs both ears and level shoulders
  curls     texture + colour descriptor of the hair band above the forehead vs the references' band,
            read only where the person mask (MediaPipe selfie) says person. Without a usable face the
            band is placed on the upper head from the ear and shoulder keypoints
A marker that cannot be read is null with a reason (no_face, profile, back_view, shoulders_hidden,
hair_occluded: band mostly outside the picture or mostly background, unreadable), never 0; every
aggregate says how many images it rests on. The JSON says per image where the band was read
(hair.from: mesh or pose) and which share of it the mask called person (hair.person).
The ceiling row scores each reference photo against the others (leave-one-out): "as consistent as
the real photos are". Files named <prompt-id>__s<seed>.png are also summarised per prompt, with
bootstrap 95 % intervals over seeds. Models ship in npm packages: nothing is downloaded.

Progress (one line per image) goes to stderr. Ctrl-C stops at once (exit 130); with --cache, the
images already scored are not scored again next time.

${exitCodesHelp('score')}

Examples:
  harness score runs/tok-boy/baseline-1a2b3c4d/samples/set1 --reference data/tok-boy
  harness score ~/Downloads/renders --reference data/tok-boy --json --out scores.json`,
    );
  outFileOption(command, 'the JSON report, besides printing it');
  jsonOption(command).action(
    async (images: string, opts: { reference: string; out?: string; cache?: string; workers?: number; embeddings?: boolean; json?: boolean }) => {
      const { score } = await import('../commands/score.ts');
      const stop = interruptible(ctx.io, 'stopping the scorer');
      const progress = scoreProgress(ctx.io);
      let result;
      try {
        result = await score({
          images,
          reference: opts.reference,
          cwd: ctx.io.cwd,
          env: ctx.io.env,
          ...(opts.out ? { out: opts.out } : {}),
          ...(opts.cache ? { cache: opts.cache } : {}),
          ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
          embeddings: Boolean(opts.embeddings),
          signal: stop.signal,
          onProgress: progress.update,
          onReference: progress.reference,
        });
      } finally {
        progress.finish();
        stop.dispose();
      }
      for (const file of result.unreadable) {
        const error = result.report.images.find((i) => i.file === file)?.error ?? '';
        ctx.io.stderr.write(`${ctx.io.style.yellow('warning')} ${file}: ${error}\n`);
      }
      emit(ctx.io, opts.json, result.report, render);
      if (result.out && !opts.json) ctx.io.stderr.write(`wrote ${result.out}\n`);
      // a summary over zero values is not a score: say so, and do not exit as if something was measured
      if (!measuredAnything(result.report)) {
        ctx.io.stderr.write(
          `${ctx.io.style.yellow('inconclusive')}: no image has a usable value for any marker (no face or body found), so nothing was measured; every – above is "no value", not 0\n`,
        );
        ctx.setExitCode(ExitCode.inconclusive);
      }
    },
  );
}
