import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { formatProblem } from '../errors.ts';
import { interruptible, jsonOption, printWarnings, SHARED_FLAGS } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import type { PreparedFile } from '../dataset/prepare.ts';
import { emit } from './io.ts';
import type { Style } from './style.ts';
import { table } from './table.ts';

export function defineDataset(program: Command, ctx: CliContext): void {
  const dataset = program
    .command('dataset')
    .description('check a training dataset folder, or prepare one from photos')
    .addHelpText(
      'after',
      `
A dataset is a folder of square PNGs plus metadata.jsonl, one line per image:
  {"file_name": "01.png", "prompt": "a photo of TOK boy, a boy with curly hair"}
loaded by the diffusers script with --dataset_name <folder> --caption_column prompt.

Examples:
  harness dataset prepare photos/ data/tok-boy      photos → 1024×1024 PNGs
  harness caption data/tok-boy                      BLIP captions → metadata.jsonl
  harness dataset check data/tok-boy                every problem at once`,
    );
  defineCheck(dataset, ctx);
  definePrepare(dataset, ctx);
}

function defineCheck(dataset: Command, ctx: CliContext): void {
  const command = dataset
    .command('check')
    .description('report every problem of a dataset folder at once, each with its file (and metadata.jsonl line)')
    .argument('[dir]', "dataset folder (default: the experiment's dataset.dir)")
    .option('-e, --experiment <file>', 'take image size, minimum image count and caption prefix from this experiment YAML')
    .option('--size <px>', 'expected width and height (default: dataset.image_size, else 1024)', positiveInt)
    .option('--min-images <n>', 'fewest images that can train (default: dataset.min_images, else 5)', positiveInt)
    .option('--prefix <text>', 'every prompt starts with this (default: dataset.caption_prefix, else "a photo of TOK boy, ")')
    .option('--model <dir>', `${SHARED_FLAGS.model}: its tokenizer/ counts caption tokens exactly (default: the experiment's pinned snapshot, else an estimate)`)
    .addHelpText(
      'after',
      `
Problems (exit 1): an image that does not decode, is not PNG, not square or not the expected size; an
image with transparent pixels (the script drops alpha and trains on the colour under it) or a 16-bit
greyscale PNG (the script clips it almost white); a metadata name that differs from the file's only in
Unicode normalisation, case or spaces;
fewer images than needed; a metadata.jsonl line that is not JSON, lacks file_name or prompt, names a
missing file, a file outside the folder (../x.png, /abs/x.png, an escaping symlink) or a file twice;
an image without a metadata line; a prompt without the trigger prefix; two images with the same pixels;
metadata lines not sorted by file_name (row order changes training).
Warnings (exit 0): very short captions, captions over CLIP's 75 tokens (the script drops the rest; exact
with the model's tokenizer files, else an estimate), line breaks in captions, images smaller than a run's
resolution (upscaled), EXIF rotation, stray non-image files or subfolders.
${exitCodesHelp('dataset check')}

Examples:
  harness dataset check data/tok-boy
  harness dataset check --experiment experiments/tok-boy.yaml
  harness dataset check data/tok-boy --size 512 --json | jq '.problems[].message'`,
    );
  jsonOption(command).action(async (dir: string | undefined, opts: { experiment?: string; size?: number; minImages?: number; prefix?: string; model?: string; json?: boolean }) => {
    const { datasetCheck } = await import('../commands/dataset.ts');
    const result = await datasetCheck({ dir, experiment: opts.experiment, size: opts.size, minImages: opts.minImages, prefix: opts.prefix, model: opts.model, cwd: ctx.io.cwd, env: ctx.io.env });
    if (result.problems.length > 0) ctx.setExitCode(1);
    emit(ctx.io, opts.json, result, (r, io) => {
      const s = r.settings;
      const lines = [`${io.style.bold(r.dir)}: ${r.images.length} images · expected ${s.imageSize}×${s.imageSize} PNG · at least ${s.minImages} · prefix "${s.captionPrefix}"`];
      for (const p of r.problems) lines.push(`${io.style.red('problem')} ${formatProblem(p)}`);
      for (const w of r.warnings) lines.push(`${io.style.yellow('warning')} ${formatProblem(w)}`);
      const counts = `${plural(r.problems.length, 'problem')}, ${plural(r.warnings.length, 'warning')}`;
      lines.push(r.problems.length === 0 ? io.style.green(`ok: ${counts}`) : io.style.red(counts));
      return lines.join('\n');
    });
  });
}

function definePrepare(dataset: Command, ctx: CliContext): void {
  const command = dataset
    .command('prepare')
    .description('turn a folder of photos (JPEG, PNG, WebP, HEIC where sharp reads it; any size) into square PNGs')
    .argument('<src>', 'folder of photos; it is only read')
    .argument('<dst>', 'new dataset folder (created; must be empty, outside src)')
    .option('--size <px>', 'output width and height', positiveInt, 1024)
    .addOption(
      new Option('--crop <mode>', 'center: the largest centred square; face: the largest square placed around the main face').choices(['center', 'face']).default('center'),
    )
    .option('--force', 'write into a destination that already has files (same-named outputs are replaced)')
    .addHelpText(
      'after',
      `
Each photo is turned upright by its EXIF orientation, cropped to a square, resized with lanczos3 and
written as an 8-bit sRGB PNG without metadata (transparency flattened on white). Files that are not
photos are skipped; photos that do not decode are listed as failed (exit 1). What was done to every
file (source and output sha256, crop box and method, scale) goes to <dst>/.harness-prepare.json.

Crop modes (the square's side is the photo's short side either way; only its position differs):
  center  the middle of the photo. Fast, no models; right when the subject is already central.
  face    finds the main face (the largest one, with the face models the scorer uses, on the upright
          photo shrunk to 1024 px) and centres the square 0.3 face heights below the face centre, so
          the hair above and the neck and shoulders below stay in; clamped to the photo's edges.
          A wide or tall photo where no face shows at first gets a second look, square by square.
          Photos with no face found are centre-cropped and listed (a warning, and cropMethod
          "center-no-face" in the manifest). Loads the models once (a few seconds), then about
          half a second per photo on a CPU.

An interrupted prepare (Ctrl-C) keeps what it finished: the same command again resumes, redoing only
the photos not yet written.

${exitCodesHelp('dataset prepare')}

Examples:
  harness dataset prepare ~/Pictures/tok data/tok-boy
  harness dataset prepare photos/ data/tok-boy-512 --size 512
  harness dataset prepare photos/ data/tok-boy --crop face     off-centre subjects`,
    );
  jsonOption(command).action(async (src: string, dst: string, opts: { size: number; crop: 'center' | 'face'; force?: boolean; json?: boolean }) => {
    const { datasetPrepare } = await import('../commands/dataset.ts');
    const stop = interruptible(ctx.io, 'finishing the photo in hand, then stopping');
    let result;
    try {
      result = await datasetPrepare({ src, dst, size: opts.size, crop: opts.crop, force: opts.force, cwd: ctx.io.cwd, signal: stop.signal });
    } finally {
      stop.dispose();
    }
    if (result.counts.failed > 0) ctx.setExitCode(1);
    if (!opts.json) printWarnings(ctx.io, result.warnings);
    emit(ctx.io, opts.json, result, (r, io) => {
      const rows = r.files.map((f) => [
        f.source,
        f.status === 'written' ? `→ ${f.output}` : f.status === 'failed' ? io.style.red('failed') : io.style.dim('skipped'),
        f.status === 'written'
          ? `${f.width}×${f.height}${f.orientation && f.orientation !== 1 ? ` exif ${f.orientation}` : ''}, crop ${f.crop!.side}px at ${f.crop!.left},${f.crop!.top}${cropMethodNote(f, io.style)}, ×${f.scale!.toFixed(3)}`
          : (f.reason ?? ''),
      ]);
      const c = r.counts;
      const faces = r.noFace ? ` · ${c.written - r.noFace.length} cropped on the face, ${r.noFace.length} at the centre (no face)${r.noFace.length ? `: ${r.noFace.join(', ')}` : ''}` : '';
      return `${table(['source', 'result', 'details'], rows)}\n\n${c.written} written${r.resumed ? ` (${r.resumed} kept from the interrupted run)` : ''}, ${c.skipped} skipped, ${c.failed} failed${faces} · ${r.size}×${r.size} PNG · manifest ${r.manifest}`;
    });
  });
}

/** Only --crop face says how each square was placed; centre mode's output stays as it was. */
function cropMethodNote(file: PreparedFile, style: Style): string {
  if (file.cropMethod === 'face') return ` on face (${file.face!.score.toFixed(2)})`;
  if (file.cropMethod === 'center-no-face') return ` ${style.yellow('centre: no face')}`;
  return '';
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
