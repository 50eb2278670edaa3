// `harness caption <dir>`: BLIP captions for the sorted PNGs of a dataset, written to metadata.jsonl
// atomically in sorted order with the trigger prefix. Hand edits are kept unless --force.
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadExperiment } from '../config/load.ts';
import { ConfigError, UsageError, type Problem } from '../errors.ts';
import { treeDigest } from '../models/built.ts';
import { writeFileAtomic, writeJsonAtomic } from '../store/atomic.ts';
import { sha256File } from '../util/hash.ts';
import {
  BLIP_GENERATION,
  BLIP_MODEL,
  applyCaptions,
  imagesNeedingBlip,
  type CaptionChange,
  type CaptionRecord,
} from '../dataset/caption-plan.ts';
import { runCaptioner, type StartEvent } from '../dataset/captioner.ts';
import { CAPTION_RECORD_FILE, DEFAULT_CAPTION_PREFIX, METADATA_FILE, compareNames, displayPath, isHidden } from '../dataset/files.ts';
import { checkFileName, parseMetadata, serializeMetadata, type MetadataEntry } from '../dataset/metadata.ts';
import { didYouMeanPath } from '../util/near-path.ts';

export interface CaptionOptions {
  dir?: string;
  experiment?: string;
  prefix?: string;
  force?: boolean;
  dryRun?: boolean;
  python?: string;
  /** a local BLIP folder instead of the pinned Hub model (--model) */
  model?: string | undefined;
  device?: 'auto' | 'cuda' | 'cpu';
  cwd: string;
  env: NodeJS.ProcessEnv;
  onCaption?: (name: string, text: string, done: number, total: number) => void;
}

export interface CaptionResult {
  schemaVersion: number;
  dir: string;
  prefix: string;
  dryRun: boolean;
  force: boolean;
  model: { id: string; revision: string };
  generation: typeof BLIP_GENERATION;
  /** null when every caption was kept or reused and Python did not run */
  captioner: { python: string; script: string; device: string; dtype: string; versions: Record<string, string> } | null;
  written: boolean;
  changes: CaptionChange[];
  dropped: string[];
  counts: Record<CaptionChange['action'] | 'dropped', number>;
  warnings: Problem[];
}

export async function caption(options: CaptionOptions): Promise<CaptionResult> {
  const { dir, prefix } = await resolveTarget(options);
  const force = options.force ?? false;
  const dryRun = options.dryRun ?? false;
  const display = displayPath(options.cwd, dir);
  const names = await listPngs(dir, display);
  const images = await Promise.all(names.map(async (name) => ({ name, sha256: await sha256File(path.join(dir, name)) })));
  const existing = await readExisting(dir, display, force);
  const warnings: Problem[] = [];
  const record = await readRecord(dir, display, warnings);
  const model = await resolveModel(options);
  const inputs = { images, existing, record, prefix, force, model };

  const needed = imagesNeedingBlip(inputs);
  let start: StartEvent | null = null;
  let captioner: CaptionResult['captioner'] = null;
  let blip = new Map<string, { text: string; device: string; dtype: string }>();
  if (needed.length > 0) {
    const run = await runCaptioner({
      spec: {
        schemaVersion: 1,
        model: { ...model },
        device: options.device ?? 'auto',
        dtypes: { cuda: 'float16', cpu: 'float32' },
        generation: BLIP_GENERATION,
        images: needed.map((name) => ({ name, path: path.join(dir, name) })),
      },
      python: options.python,
      env: options.env,
      cwd: options.cwd,
      ...(options.onCaption ? { onCaption: options.onCaption } : {}),
    });
    start = run.start;
    blip = run.captions;
    captioner = { python: run.python, script: run.script, device: start.device, dtype: start.dtype, versions: start.versions };
  }
  const outcome = applyCaptions(inputs, blip);
  for (const change of outcome.changes) {
    if (change.imageChanged) {
      warnings.push({ file: path.join(display, change.file), message: 'the image changed since harness captioned it, but its caption was edited by hand and is kept: check it, or run with --force' });
    }
  }
  const text = serializeMetadata(outcome.metadata);
  const metadataFile = path.join(dir, METADATA_FILE);
  const before = await readFile(metadataFile, 'utf8').catch(() => null);
  let written = false;
  if (!dryRun) {
    if (before !== text) {
      await writeFileAtomic(metadataFile, text);
      written = true;
    }
    if (start || JSON.stringify(record?.entries ?? null) !== JSON.stringify(outcome.record.entries)) {
      await writeJsonAtomic(path.join(dir, CAPTION_RECORD_FILE), { ...outcome.record, updatedAt: new Date().toISOString() });
    }
  }
  const counts = { new: 0, updated: 0, unchanged: 0, kept: 0, dropped: outcome.dropped.length };
  for (const change of outcome.changes) counts[change.action] += 1;
  return {
    schemaVersion: 1,
    dir: display,
    prefix,
    dryRun,
    force,
    model: { ...model },
    generation: BLIP_GENERATION,
    captioner,
    written,
    changes: outcome.changes,
    dropped: outcome.dropped,
    counts,
    warnings,
  };
}

async function resolveTarget(options: CaptionOptions): Promise<{ dir: string; prefix: string }> {
  const experiment = options.experiment ? await loadExperiment(options.experiment, options.cwd) : null;
  const dirArg = options.dir ? path.resolve(options.cwd, options.dir) : experiment?.datasetDir;
  if (!dirArg) throw new UsageError('which dataset? pass a folder, or --experiment FILE to use its dataset.dir', 'e.g. harness caption data/tok-boy');
  const info = await stat(dirArg).catch(() => null);
  if (!info?.isDirectory()) throw new UsageError(`dataset folder not found: ${dirArg}${await didYouMeanPath(dirArg, options.cwd, { kind: 'folder' })}`, 'pass the folder that holds the training PNGs');
  const prefix = options.prefix ?? experiment?.config.dataset.caption_prefix ?? DEFAULT_CAPTION_PREFIX;
  return { dir: dirArg, prefix };
}

/**
 * The pinned Hub model, or a local folder (--model): its absolute path as the id and the digest of its files as
 * the revision, so the caption record tells a changed folder apart (and those images are captioned again).
 */
async function resolveModel(options: CaptionOptions): Promise<{ id: string; revision: string }> {
  if (options.model === undefined) return { ...BLIP_MODEL };
  const dir = path.resolve(options.cwd, options.model);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) {
    throw new UsageError(`--blip ${options.model}: no such folder`, 'pass a folder saved with save_pretrained (config.json, model weights, processor and tokenizer files)');
  }
  return { id: dir, revision: await treeDigest(dir) };
}

async function listPngs(dir: string, display: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => !isHidden(entry.name) && /\.png$/i.test(entry.name) && (entry.isFile() || entry.isSymbolicLink()))
    .map((entry) => entry.name)
    .sort(compareNames);
  if (names.length === 0) {
    throw new UsageError(`no PNG images in ${display}`, 'turn photos into square PNGs first: harness dataset prepare <photos> <dataset>');
  }
  return names;
}

/** The current captions by file name; a damaged metadata.jsonl stops the run unless --force rewrites it. */
async function readExisting(dir: string, display: string, force: boolean): Promise<Map<string, MetadataEntry>> {
  const file = path.join(dir, METADATA_FILE);
  const text = await readFile(file, 'utf8').catch(() => null);
  const existing = new Map<string, MetadataEntry>();
  if (text === null) return existing;
  const problems: Problem[] = [];
  const where = path.join(display, METADATA_FILE);
  for (const { line, value, error } of parseMetadata(text).lines) {
    if (!value) {
      problems.push({ file: where, line, message: `${error}` });
      continue;
    }
    const verdict = typeof value.file_name === 'string' ? checkFileName(value.file_name) : null;
    if (!verdict?.ok) {
      problems.push({ file: where, line, key: 'file_name', message: verdict ? verdict.message : 'file_name is missing or not a string' });
      continue;
    }
    if (existing.has(verdict.name)) {
      problems.push({ file: where, line, key: 'file_name', message: `"${verdict.name}" is named twice` });
      continue;
    }
    existing.set(verdict.name, { ...value, file_name: verdict.name, prompt: typeof value.prompt === 'string' ? value.prompt : '' });
  }
  if (problems.length > 0 && !force) {
    throw new ConfigError(problems, 'harness cannot tell which captions are hand edits: fix these lines, or run with --force to recaption every image');
  }
  return existing;
}

async function readRecord(dir: string, display: string, warnings: Problem[]): Promise<CaptionRecord | null> {
  const file = path.join(dir, CAPTION_RECORD_FILE);
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const record = JSON.parse(text) as CaptionRecord;
    if (record && typeof record.entries === 'object' && record.entries !== null) return record;
  } catch {
    // fall through: treated as absent, so every existing caption counts as a hand edit (the safe side)
  }
  warnings.push({ file: path.join(display, CAPTION_RECORD_FILE), message: 'unreadable caption record: every existing caption is treated as a hand edit' });
  return null;
}
