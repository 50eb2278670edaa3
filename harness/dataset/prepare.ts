// Photos of any size and format → square PNGs at the training size, into a separate folder, with a
// manifest of what was done to each file. The source folder is only read.
import { mkdir, readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError, InterruptedError, UsageError } from '../errors.ts';
import { describeDecodeError } from '../image/index.ts';
import { writeFileAtomic, writeJsonAtomic } from '../store/atomic.ts';
import { sha256, sha256File } from '../util/hash.ts';
import { DEFAULT_IMAGE_SIZE, IMAGE_FILE, PREPARE_MANIFEST_FILE, compareNames, isHidden } from './files.ts';
import { faceCrop, type FaceBox } from './face-crop.ts';
import { centreCrop, readImageInfo, renderSquarePng, uprightSize, type SquareCrop } from './pixels.ts';
import { didYouMeanPath } from '../util/near-path.ts';

export type CropMode = 'center' | 'face';
export const CROP_MODES: CropMode[] = ['center', 'face'];
/** How one file's square was placed; 'center-no-face': --crop face found no face and used the centre. */
export type CropMethod = 'center' | 'face' | 'center-no-face';

/** Enlarging beyond this blurs detail the LoRA would learn as part of the face; smaller steps are recorded only. */
const ENLARGE_WARNING = 1.25;

/** What prepare tries to read: the training formats plus phone formats sharp may decode. */
const PHOTO_FILE = new RegExp(`${IMAGE_FILE.source}|\\.(heic|heif|avif)$`, 'i');

export interface PreparedFile {
  source: string;
  status: 'written' | 'skipped' | 'failed';
  /** why it was skipped or failed */
  reason?: string;
  output?: string;
  sourceSha256?: string;
  outputSha256?: string;
  format?: string;
  /** as stored */
  width?: number;
  height?: number;
  orientation?: number | null;
  /** the square box taken from the upright image */
  crop?: SquareCrop;
  cropMethod?: CropMethod;
  /** --crop face: the main face found, in the upright image's pixels; null when none was found */
  face?: { box: FaceBox; score: number } | null;
  /** output side / crop side: above 1 means the photo was enlarged */
  scale?: number;
  flattenedAlpha?: boolean;
}

export interface PrepareResult {
  schemaVersion: number;
  tool: 'harness dataset prepare';
  source: string;
  destination: string;
  manifest: string;
  size: number;
  crop: CropMode;
  kernel: 'lanczos3';
  files: PreparedFile[];
  counts: { written: number; skipped: number; failed: number };
  /** photos kept from an interrupted run of the same command */
  resumed?: number;
  /** --crop face: the photos where no face was found, so the centre was used */
  noFace?: string[];
  warnings: { file: string; message: string }[];
}

export interface PrepareOptions {
  size?: number;
  crop?: CropMode;
  /** write into a destination that already has files (same-named outputs are replaced) */
  force?: boolean;
  /** Ctrl-C: stop after the photo in hand, keep a manifest of what is done, and throw InterruptedError */
  signal?: AbortSignal;
}

/** The manifest an interrupted prepare leaves: the same command finds it and resumes. */
interface PartialManifest {
  tool?: string;
  complete?: boolean;
  source?: string;
  size?: number;
  crop?: CropMode;
  files?: PreparedFile[];
}

export async function prepareDataset(src: string, dst: string, options: PrepareOptions = {}): Promise<PrepareResult> {
  const size = options.size ?? DEFAULT_IMAGE_SIZE;
  const crop = options.crop ?? 'center';
  if (!Number.isInteger(size) || size < 64 || size > 8192) throw new UsageError(`--size must be a whole number of pixels from 64 to 8192, got ${size}`);
  const resumable = await readResumable(dst, src, size, crop);
  const { realSrc, absDst } = await checkFolders(src, dst, (options.force ?? false) || resumable !== null);
  const done = new Map((resumable?.files ?? []).filter((f) => f.status === 'written').map((f) => [f.source, f]));
  const names = (await readdir(realSrc, { withFileTypes: true }))
    .filter((entry) => !isHidden(entry.name) && (entry.isFile() || entry.isSymbolicLink()))
    .map((entry) => entry.name)
    .sort(compareNames);
  const outputs = outputNames(names.filter((name) => PHOTO_FILE.test(name)));
  await mkdir(absDst, { recursive: true });
  const detect = crop === 'face' ? await faceDetector() : null;

  const files: PreparedFile[] = [];
  const warnings: PrepareResult['warnings'] = [];
  const manifest = path.join(absDst, PREPARE_MANIFEST_FILE);
  const head = { tool: 'harness dataset prepare' as const, source: realSrc, destination: absDst, size, crop, kernel: 'lanczos3' as const };
  let resumed = 0;
  for (const name of names) {
    if (options.signal?.aborted) {
      const written = files.filter((f) => f.status === 'written').length;
      await writeJsonAtomic(manifest, { ...head, complete: false, files, warnings, createdAt: new Date().toISOString() });
      throw new InterruptedError(
        `dataset prepare interrupted after ${written} of ${outputs.size} photos (${absDst} holds them and a manifest of what is done)`,
        'run the same command again to resume: finished photos are kept, the rest are written',
      );
    }
    const output = outputs.get(name);
    const previous = done.get(name);
    if (previous && output && output === previous.output && (await sha256File(path.join(absDst, output)).catch(() => null)) === previous.outputSha256 && (await sha256File(path.join(realSrc, name))) === previous.sourceSha256) {
      files.push(previous);
      resumed += 1;
      continue;
    }
    if (!output) {
      files.push({ source: name, status: 'skipped', reason: 'not a photo (by its extension)' });
      continue;
    }
    const file = path.join(realSrc, name);
    try {
      const info = await readImageInfo(file);
      const upright = uprightSize(info);
      const face = detect ? await detect(file) : undefined;
      const box = face ? faceCrop(upright.width, upright.height, face.box) : centreCrop(upright.width, upright.height);
      const cropMethod: CropMethod = face ? 'face' : detect ? 'center-no-face' : 'center';
      if (cropMethod === 'center-no-face') warnings.push({ file: name, message: 'no face found: cropped at the centre instead' });
      const png = await renderSquarePng(file, box, size, info.hasAlpha);
      await writeFileAtomic(path.join(absDst, output), png);
      const scale = size / box.side;
      if (scale > ENLARGE_WARNING) warnings.push({ file: name, message: `enlarged ${scale.toFixed(2)}× from a ${box.side} px square: expect soft detail` });
      files.push({
        source: name,
        status: 'written',
        output,
        sourceSha256: await sha256File(file),
        outputSha256: sha256(png),
        format: info.format,
        width: info.width,
        height: info.height,
        orientation: info.orientation ?? null,
        crop: box,
        cropMethod,
        ...(face === undefined ? {} : { face }),
        scale: Number(scale.toFixed(6)),
        flattenedAlpha: info.hasAlpha,
      });
    } catch (error) {
      if (error instanceof HarnessError) throw error;
      files.push({ source: name, status: 'failed', reason: describeDecodeError(error) });
    }
  }
  const counts = {
    written: files.filter((f) => f.status === 'written').length,
    skipped: files.filter((f) => f.status === 'skipped').length,
    failed: files.filter((f) => f.status === 'failed').length,
  };
  const noFace = detect ? { noFace: files.filter((f) => f.cropMethod === 'center-no-face').map((f) => f.source) } : {};
  const body = { ...head, files, counts, ...noFace, warnings, ...(resumed ? { resumed } : {}) };
  await writeJsonAtomic(manifest, { ...body, complete: true, createdAt: new Date().toISOString() });
  return { schemaVersion: 1, manifest, ...body };
}

/** An interrupted prepare of the same source, size and crop into `dst`: it may be resumed without --force. */
async function readResumable(dst: string, src: string, size: number, crop: CropMode): Promise<PartialManifest | null> {
  let manifest: PartialManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(path.resolve(dst), PREPARE_MANIFEST_FILE), 'utf8')) as PartialManifest;
  } catch {
    return null;
  }
  const realSrc = await realpath(src).catch(() => null);
  const same = manifest.tool === 'harness dataset prepare' && manifest.complete === false && manifest.source === realSrc && manifest.size === size && manifest.crop === crop;
  return same ? manifest : null;
}

type FaceDetector = (file: string) => Promise<{ box: FaceBox; score: number } | null>;

/**
 * Wraps scoring's detector (its models load on the first photo, once per process). A model that cannot
 * load or run stops the whole run, before that photo is written: it is not "no face", and marking every
 * photo failed (or centre-cropped) would hide it.
 */
async function faceDetector(): Promise<FaceDetector> {
  const { detectMainFace } = await import('../scoring/index.ts');
  const fail = (error: unknown, file?: string) =>
    new HarnessError(`--crop face: face detection failed${file ? ` on ${file}` : ''}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'check that @vladmandic/human and @tensorflow/tfjs-backend-wasm are installed (npm ci), or use --crop center',
      cause: error,
    });
  return async (file) => {
    let found;
    try {
      found = await detectMainFace(file);
    } catch (error) {
      throw fail(error, path.basename(file));
    }
    if (!found) return null;
    const { x, y, width, height } = found.box;
    return { box: { x: Math.round(x), y: Math.round(y), width: Math.round(width), height: Math.round(height) }, score: Number(found.score.toFixed(4)) };
  };
}

/** Refuses anything that could write into the source: dst equal to src, inside it, or around it. */
async function checkFolders(src: string, dst: string, force: boolean): Promise<{ realSrc: string; absDst: string }> {
  let realSrc: string;
  try {
    realSrc = await realpath(src);
    await readdir(realSrc);
  } catch {
    throw new UsageError(`source folder not found or not readable: ${src}${await didYouMeanPath(src, process.cwd(), { kind: 'folder' })}`, 'pass the folder that holds the photos');
  }
  const absDst = await realpathOfMaybeMissing(path.resolve(dst));
  const inside = (child: string, parent: string) => {
    const rel = path.relative(parent, child);
    return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
  };
  if (inside(absDst, realSrc)) {
    throw new UsageError(`destination ${dst} is ${absDst === realSrc ? 'the source folder' : 'inside the source folder'}: prepare never writes into the source`, 'pick a destination outside the source, e.g. data/tok-boy next to photos/');
  }
  if (inside(realSrc, absDst)) {
    throw new UsageError(`source ${src} is inside the destination ${dst}: the photos would become part of the dataset`, 'pick a destination that does not contain the source');
  }
  const existing = await readdir(absDst).catch(() => [] as string[]);
  const visible = existing.filter((name) => !isHidden(name));
  if (visible.length > 0 && !force) {
    throw new UsageError(`destination ${dst} is not empty (${visible.length} entries, e.g. ${visible.sort(compareNames)[0]})`, 'use an empty or new folder, or add --force to replace same-named outputs');
  }
  return { realSrc, absDst };
}

async function realpathOfMaybeMissing(abs: string): Promise<string> {
  try {
    return await realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    if (parent === abs) return abs;
    return path.join(await realpathOfMaybeMissing(parent), path.basename(abs));
  }
}

/** source name → output PNG name; photos sharing a stem (a.jpg, a.png) keep their extension in the name. */
export function outputNames(sources: string[]): Map<string, string> {
  const stem = (name: string) => name.slice(0, name.length - path.extname(name).length);
  const counts = new Map<string, number>();
  for (const name of sources) counts.set(stem(name), (counts.get(stem(name)) ?? 0) + 1);
  const names = new Map(
    sources.map((name) => {
      const s = stem(name);
      return [name, ((counts.get(s) ?? 0) > 1 ? `${s}-${path.extname(name).slice(1).toLowerCase()}.png` : `${s}.png`).normalize('NFC')];
    }),
  );
  const taken = new Map<string, string>();
  for (const [source, output] of names) {
    const other = taken.get(output);
    if (other) throw new UsageError(`${other} and ${source} would both become ${output}`, 'rename one of them in the source folder');
    taken.set(output, source);
  }
  return names;
}
