// Dataset validation: every problem at once, each naming its file (and line of metadata.jsonl).
// Problems are what would make training silently wrong (captions ignored, a stray or resized image, a
// row order that changes); warnings are worth a look but train as intended. Imported by the training
// preflight, so it takes data options and returns data.
import { lstat, readFile, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from '../errors.ts';
import { describeDecodeError } from '../image/index.ts';
import { checkFileName, parseMetadata } from './metadata.ts';
import {
  DEFAULT_CAPTION_PREFIX,
  DEFAULT_IMAGE_SIZE,
  DEFAULT_MIN_IMAGES,
  IMAGE_FILE,
  METADATA_FILE,
  OTHER_METADATA_FILE,
  compareNames,
  instancePromptFromPrefix,
  isHidden,
} from './files.ts';
import { CLIP_CAPTION_TOKENS, ESTIMATED_TOKENIZER, type CaptionTokenizer } from './clip-tokens.ts';
import { readImageInfo, type ImageInfo } from './pixels.ts';

export const CHECK_SCHEMA_VERSION = 1;

export type ProblemCode =
  | 'not-a-folder'
  | 'not-decodable'
  | 'not-png'
  | 'not-square'
  | 'wrong-size'
  | 'too-few-images'
  | 'path-escape'
  | 'metadata-missing'
  | 'metadata-conflict'
  | 'metadata-not-json'
  | 'metadata-missing-key'
  | 'metadata-missing-file'
  | 'metadata-not-image'
  | 'metadata-path-escape'
  | 'metadata-duplicate'
  | 'metadata-unsorted'
  | 'image-without-metadata'
  | 'prompt-without-trigger'
  | 'duplicate-image'
  | 'transparency'
  | 'grey16'
  | 'name-lookalike';

export type WarningCode =
  | 'short-caption'
  | 'prefix-not-leading'
  | 'exif-rotation'
  | 'stray-file'
  | 'stray-folder'
  | 'blank-line'
  | 'transparency'
  | 'caption-too-long'
  | 'caption-control-character'
  | 'upscaled';

/** Transparent pixels above this share of an image are a problem; fewer (anti-aliased edges) a warning. */
const TRANSPARENCY_PROBLEM = 0.01;

export interface DatasetProblem<C extends string = ProblemCode> extends Problem {
  code: C;
  /** the entry inside the dataset folder the problem is about ("." for the folder itself) */
  name: string;
}

export interface CheckedImage {
  name: string;
  /** null when the file could not be decoded */
  info: ImageInfo | null;
  /** the prompt of its metadata line, if any */
  prompt: string | null;
  /** the metadata line that names it, if any */
  line: number | null;
}

export interface CheckOptions {
  /** expected width = height; default 1024 */
  imageSize?: number;
  /** default 5 */
  minImages?: number;
  /** every prompt starts with it; default "a photo of TOK boy, " */
  captionPrefix?: string;
  /** the trigger phrase; default: the caption prefix without its trailing ", " */
  instancePrompt?: string;
  /** how the folder is named in messages (default: dir as given) */
  display?: string;
  /** a caption with fewer words after the prefix is a warning; default 3 */
  minCaptionWords?: number;
  /** counts captions as the script's CLIP tokenizers do; default: an estimate (one token per word) */
  tokenizer?: CaptionTokenizer;
  /** the training resolutions of the experiment's runs: images smaller than one are upscaled by the script */
  resolutions?: { name: string; resolution: number }[];
}

export interface CheckResult {
  schemaVersion: number;
  dir: string;
  settings: { imageSize: number; minImages: number; captionPrefix: string; instancePrompt: string; tokenizer: string | null };
  problems: DatasetProblem[];
  warnings: DatasetProblem<WarningCode>[];
  images: CheckedImage[];
}

export async function checkDataset(dir: string, options: CheckOptions = {}): Promise<CheckResult> {
  const imageSize = options.imageSize ?? DEFAULT_IMAGE_SIZE;
  const minImages = options.minImages ?? DEFAULT_MIN_IMAGES;
  const captionPrefix = options.captionPrefix ?? DEFAULT_CAPTION_PREFIX;
  const instancePrompt = options.instancePrompt ?? instancePromptFromPrefix(captionPrefix);
  const minWords = options.minCaptionWords ?? 3;
  const display = options.display ?? dir;
  const problems: DatasetProblem[] = [];
  const warnings: DatasetProblem<WarningCode>[] = [];
  const where = (name: string) => (name === '.' ? display : path.join(display, name));
  const problem = (code: ProblemCode, name: string, message: string, line?: number, key?: string) =>
    problems.push({ code, name, file: where(name), message, ...(line === undefined ? {} : { line }), ...(key ? { key } : {}) });
  const warn = (code: WarningCode, name: string, message: string, line?: number) =>
    warnings.push({ code, name, file: where(name), message, ...(line === undefined ? {} : { line }) });
  const result = (images: CheckedImage[]): CheckResult => ({
    schemaVersion: CHECK_SCHEMA_VERSION,
    dir: display,
    settings: { imageSize, minImages, captionPrefix, instancePrompt, tokenizer: (options.tokenizer ?? ESTIMATED_TOKENIZER).source },
    problems,
    warnings,
    images,
  });

  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem('not-a-folder', '.', code === 'ENOENT' ? 'folder not found' : code === 'ENOTDIR' ? 'not a folder' : `cannot read the folder (${code})`);
    return result([]);
  }
  const realDir = await realpath(dir);
  const imageNames: string[] = [];
  let hasMetadata = false;
  for (const entry of entries.sort((a, b) => compareNames(a.name, b.name))) {
    if (isHidden(entry.name)) continue;
    if (entry.name === METADATA_FILE) hasMetadata = true;
    else if (entry.isDirectory()) warn('stray-folder', entry.name, 'a subfolder: harness ignores it, but it is part of the dataset hash and the imagefolder loader also reads images inside it; move it out');
    else if (OTHER_METADATA_FILE.test(entry.name)) problem('metadata-conflict', entry.name, `a second metadata file beside ${METADATA_FILE}: the imagefolder loader would read it too; remove it`);
    else if (IMAGE_FILE.test(entry.name)) imageNames.push(entry.name);
    else warn('stray-file', entry.name, 'not an image and not metadata.jsonl: it is part of the dataset hash; move it out of the folder');
  }

  // Images: decodable, PNG, square, the expected size, inside the folder, distinct.
  const images: CheckedImage[] = [];
  const byPixels = new Map<string, string>();
  for (const name of imageNames) {
    const file = path.join(dir, name);
    const escape = await symlinkEscape(file, realDir);
    if (escape) {
      problem('path-escape', name, `a symlink to ${escape}, outside the dataset folder: copy the image in instead`);
      images.push({ name, info: null, prompt: null, line: null });
      continue;
    }
    let info: ImageInfo;
    try {
      info = await readImageInfo(file);
    } catch (error) {
      problem('not-decodable', name, describeDecodeError(error));
      images.push({ name, info: null, prompt: null, line: null });
      continue;
    }
    images.push({ name, info, prompt: null, line: null });
    const size = `${info.width}×${info.height}`;
    if (info.format !== 'png') {
      const named = /\.png$/i.test(name) ? ` with a .png name` : '';
      problem('not-png', name, `is ${info.format.toUpperCase()}${named}, not PNG: convert it with \`harness dataset prepare\``);
    }
    if (info.width !== info.height) problem('not-square', name, `is ${size}, not square: crop it with \`harness dataset prepare\``);
    if (info.width !== imageSize || info.height !== imageSize) problem('wrong-size', name, `is ${size}, expected ${imageSize}×${imageSize}`);
    if (info.orientation !== undefined && info.orientation !== 1) {
      warn('exif-rotation', name, `has EXIF orientation ${info.orientation}: the trainer rotates it upright before cropping; \`harness dataset prepare\` bakes the rotation in`);
    }
    checkPixels(name, info, problem, warn);
    const twin = byPixels.get(info.pixelSha256);
    if (twin) problem('duplicate-image', name, `has the same pixels as ${twin}: a duplicate trains that picture twice as often`);
    else byPixels.set(info.pixelSha256, name);
  }
  checkUpscale(images, options.resolutions ?? [], warn);
  const decodable = images.filter((image) => image.info !== null).length;
  if (decodable < minImages) {
    problem('too-few-images', '.', `${decodable} usable image${decodable === 1 ? '' : 's'}, the experiment needs at least ${minImages} (dataset.min_images)`);
  }

  if (!hasMetadata) {
    problem('metadata-missing', METADATA_FILE, 'missing: without it every image trains with the instance prompt only; write it with `harness caption`');
    return result(images);
  }
  await checkMetadata(dir, realDir, images, { captionPrefix, instancePrompt, minWords, tokenizer: options.tokenizer ?? ESTIMATED_TOKENIZER }, problem, warn);
  for (const image of images) {
    if (image.line === null && image.info !== null) {
      problem('image-without-metadata', image.name, `has no line in ${METADATA_FILE}: the loader skips it; run \`harness caption\` or add a line`);
    }
  }
  return result(images);
}

type Report<C extends string> = (code: C, name: string, message: string, line?: number, key?: string) => void;

async function checkMetadata(
  dir: string,
  realDir: string,
  images: CheckedImage[],
  prompts: PromptRules,
  problem: Report<ProblemCode>,
  warn: Report<WarningCode>,
): Promise<void> {
  const { lines, blankLines } = parseMetadata(await readFile(path.join(dir, METADATA_FILE), 'utf8'));
  const M = METADATA_FILE;
  for (const line of blankLines) warn('blank-line', M, 'blank line', line);
  const imageByName = new Map(images.map((image) => [image.name, image]));
  const firstLine = new Map<string, number>();
  let previous: { name: string; line: number } | null = null;
  let unsortedReported = false;
  for (const { line, value, error } of lines) {
    if (!value) {
      problem('metadata-not-json', M, `${error}: each line is one object like {"file_name": "01.png", "prompt": "…"}`, line);
      continue;
    }
    const fileName = value.file_name;
    const prompt = value.prompt;
    if (typeof prompt !== 'string' || prompt.trim() === '') {
      const what = prompt === undefined ? 'missing' : typeof prompt !== 'string' ? `not a string (${JSON.stringify(prompt)})` : 'empty';
      problem('metadata-missing-key', M, `prompt is ${what}: the trainer would silently use the instance prompt`, line, 'prompt');
    } else {
      checkPrompt(prompt, line, prompts, problem, warn);
    }
    if (typeof fileName !== 'string') {
      problem('metadata-missing-key', M, `file_name is ${fileName === undefined ? 'missing' : `not a string (${JSON.stringify(fileName)})`}`, line, 'file_name');
      continue;
    }
    const verdict = checkFileName(fileName);
    if (!verdict.ok) {
      problem(verdict.reason === 'escape' ? 'metadata-path-escape' : 'metadata-missing-key', M, verdict.message, line, 'file_name');
      continue;
    }
    const name = verdict.name;
    const first = firstLine.get(name);
    if (first !== undefined) {
      problem('metadata-duplicate', M, `"${name}" is already named on line ${first}: one line per image`, line, 'file_name');
      continue;
    }
    firstLine.set(name, line);
    if (previous && compareNames(name, previous.name) < 0 && !unsortedReported) {
      unsortedReported = true;
      problem('metadata-unsorted', M, `"${name}" comes after "${previous.name}" (line ${previous.line}): keep lines sorted by file_name, row order changes training; \`harness caption\` rewrites it sorted`, line);
    }
    previous = { name, line };
    const image = imageByName.get(name);
    if (image) {
      image.line = line;
      image.prompt = typeof prompt === 'string' ? prompt : null;
      continue;
    }
    const lookalike = lookalikeOf(name, images);
    if (lookalike) {
      // the image is named by this line, just not byte for byte: one problem, not also "has no line"
      lookalike.image.line = line;
      lookalike.image.prompt = typeof prompt === 'string' ? prompt : null;
      problem(
        'name-lookalike',
        M,
        `"${name}" and the file ${JSON.stringify(lookalike.image.name)} differ only in ${lookalike.why}: they print alike, but the loader looks names up byte for byte and will not find the image; rename the file or fix the line`,
        line,
        'file_name',
      );
      continue;
    }
    const target = path.join(dir, name);
    const info = await lstat(target).catch(() => null);
    if (!info) problem('metadata-missing-file', M, `"${name}" does not exist in the dataset folder`, line, 'file_name');
    else if (isHidden(name)) problem('metadata-missing-file', M, `"${name}" is a hidden file: the loader skips hidden files; rename it`, line, 'file_name');
    else if (info.isSymbolicLink() && (await symlinkEscape(target, realDir))) {
      problem('metadata-path-escape', M, `"${name}" is a symlink that leads outside the dataset folder`, line, 'file_name');
    } else problem('metadata-not-image', M, `"${name}" is not an image file (${IMAGE_FILE.source})`, line, 'file_name');
  }
}

interface PromptRules {
  captionPrefix: string;
  instancePrompt: string;
  minWords: number;
  tokenizer: CaptionTokenizer;
}

function checkPrompt(
  prompt: string,
  line: number,
  { captionPrefix, instancePrompt, minWords, tokenizer }: PromptRules,
  problem: Report<ProblemCode>,
  warn: Report<WarningCode>,
): void {
  const control = /[\u0000-\u001f\u007f\u2028\u2029]/u.exec(prompt);
  if (control) {
    const what = control[0] === '\n' ? 'a line break (\\n)' : control[0] === '\t' ? 'a tab' : control[0] === '\r' ? 'a carriage return (\\r)' : `the control character U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    warn(
      'caption-control-character',
      METADATA_FILE,
      `prompt contains ${what} at character ${control.index + 1} ("…${prompt.slice(Math.max(0, control.index - 20), control.index).replace(/\s+/g, ' ')}⏎"): a pasted multi-line caption? The tokenizer reads it as a space, so what follows it still trains; keep a caption on one line`,
      line,
    );
  }
  const count = tokenizer.count(prompt);
  if (count.dropped !== null) {
    const how = count.exact ? `${count.tokens} CLIP tokens` : `at least ${count.tokens} CLIP tokens (an estimate: no tokenizer files of the pinned model found; \`harness setup\` downloads them)`;
    warn(
      'caption-too-long',
      METADATA_FILE,
      `prompt has ${how}, over the ${CLIP_CAPTION_TOKENS} that fit CLIP's 77 with its start and end tokens: the script truncates it and never trains on "${shorten(count.dropped, 80)}"`,
      line,
    );
  }
  if (prompt.startsWith(captionPrefix)) {
    const words = prompt.slice(captionPrefix.length).trim().split(/\s+/).filter(Boolean).length;
    if (words < minWords) warn('short-caption', METADATA_FILE, `caption after the prefix has ${words} word${words === 1 ? '' : 's'}: "${prompt}"`, line);
  } else if (instancePrompt && prompt.includes(instancePrompt)) {
    warn('prefix-not-leading', METADATA_FILE, `prompt contains "${instancePrompt}" but does not start with the caption prefix "${captionPrefix}"`, line);
  } else {
    problem('prompt-without-trigger', METADATA_FILE, `prompt lacks the trigger: expected it to start with "${captionPrefix}", got "${prompt}"`, line, 'prompt');
  }
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** What the script does to an image's pixels that the file does not show: alpha dropped, 16-bit grey clipped. */
function checkPixels(name: string, info: ImageInfo, problem: Report<ProblemCode>, warn: Report<WarningCode>): void {
  const t = info.transparency;
  if (t && t.share > 0) {
    const percent = t.share * 100;
    const colour = colourName(t.under);
    const message =
      `has transparent pixels (${percent < 1 ? percent.toFixed(2) : percent.toFixed(0)}% of the image, stored as ${colour} underneath): the script's convert("RGB") drops alpha and trains on that ${colour}; ` +
      '`harness dataset prepare` flattens transparency on white';
    if (t.share >= TRANSPARENCY_PROBLEM) problem('transparency', name, message);
    else warn('transparency', name, message);
  }
  const g = info.grey16;
  if (g) {
    problem(
      'grey16',
      name,
      `is a 16-bit greyscale PNG: the script opens it as PIL mode I;16 and convert("RGB") clips every value above 255, so it trains on an almost white picture (mean ${g.meanAfterScript.toFixed(1)}/255; the image's own mean is ${g.mean.toFixed(1)}/255); \`harness dataset prepare\` converts it to 8-bit correctly`,
    );
  }
}

function colourName([r, g, b]: [number, number, number]): string {
  if (Math.max(r, g, b) < 16) return 'black';
  if (Math.min(r, g, b) > 239) return 'white';
  return `rgb(${r}, ${g}, ${b})`;
}

/** Runs that train above the images' size upscale every image (the script resizes the short side up). */
function checkUpscale(images: CheckedImage[], resolutions: { name: string; resolution: number }[], warn: Report<WarningCode>): void {
  const sides = images.filter((i) => i.info !== null).map((i) => Math.min(i.info!.width, i.info!.height));
  if (sides.length === 0 || resolutions.length === 0) return;
  const smallest = Math.min(...sides);
  const byResolution = new Map<number, string[]>();
  for (const { name, resolution } of resolutions) if (resolution > smallest) byResolution.set(resolution, [...(byResolution.get(resolution) ?? []), name]);
  for (const [resolution, names] of byResolution) {
    const upscaled = sides.filter((side) => side < resolution).length;
    warn(
      'upscaled',
      '.',
      `${names.join(', ')} train${names.length === 1 ? 's' : ''} at resolution ${resolution}, but ${upscaled} of ${sides.length} images are smaller (the smallest ${smallest}×${smallest}): the script upscales them up to ${Number((resolution / smallest).toFixed(2))}×, soft detail the LoRA learns; prepare the photos at ${resolution} px (\`harness dataset prepare --size ${resolution}\`) or train at ${smallest}`,
    );
  }
}

/** An image named by a metadata line in all but bytes: Unicode normalisation (macOS copies), case, spaces. */
function lookalikeOf(name: string, images: CheckedImage[]): { image: CheckedImage; why: string } | undefined {
  const free = images.filter((image) => image.line === null);
  const nfc = (s: string) => s.normalize('NFC');
  const byForm = free.find((image) => nfc(image.name) === nfc(name));
  if (byForm) {
    const form = (s: string) => (s === s.normalize('NFC') ? 'NFC, composed accents' : s === s.normalize('NFD') ? 'NFD, decomposed accents as macOS writes them' : 'mixed');
    return { image: byForm, why: `Unicode normalisation (the line is ${form(name)}; the file ${form(byForm.name)})` };
  }
  const byCase = free.find((image) => nfc(image.name).toLowerCase() === nfc(name).toLowerCase());
  if (byCase) return { image: byCase, why: 'upper and lower case (a copy from a case-insensitive disk, macOS or Windows, hides this)' };
  const bySpaces = free.find((image) => nfc(image.name).trim() === nfc(name).trim());
  if (bySpaces) return { image: bySpaces, why: 'spaces at the start or end' };
  return undefined;
}

/** The real target of a symlink that leaves the folder, or null when the file stays inside. */
async function symlinkEscape(file: string, realDir: string): Promise<string | null> {
  const info = await lstat(file);
  if (!info.isSymbolicLink()) return null;
  let target: string;
  try {
    target = await realpath(file);
  } catch {
    return null; // a dangling link: reported as missing or undecodable instead
  }
  const rel = path.relative(realDir, target);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? target : null;
}
