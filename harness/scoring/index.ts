// The scoring API for commands (score, sweep, check): a feature extractor on all cores and a scorer
// bound to one reference folder.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { isImageFile } from '../image/index.ts';
import { sha256 } from '../util/hash.ts';
import { countMissing, summarise, summarisePerPrompt } from './aggregate.ts';
import { createFeatureCache, type FeatureCache } from './cache.ts';
import { emptyStageTimes, type PreviewRequest, type StageTimes } from './extract.ts';
import { failedFeatures, type ImageFeatures } from './features.ts';
import { buildReferenceModel, scoreFeatures, type ReferenceModel } from './markers.ts';
import { HUMAN_MODELS, humanVersion } from './models.ts';
import { createPool, defaultWorkers, type ExtractorPool } from './pool.ts';
import { round } from './stats.ts';
import { MARKERS, type ImageScore, type Marker, type ScoreReport } from './types.ts';
import pMap from 'p-map';

export const SCORE_SCHEMA_VERSION = 1;
/** Bump the suffix whenever features or their gates change: it keys the cache and goes in every report. */
// features-2: body keypoints without Human's cross-image smoothing (harness/scoring/body.ts)
// features-3: person mask on the hair band; hair band and neck from body keypoints when there is no face
export const SCORER_VERSION = `human-${humanVersion()}+features-3`;

export interface ExtractorOptions {
  /** worker threads; default from the cores and the free memory (defaultWorkers) */
  workers?: number;
  /** where features are cached by image sha256 + scorer version; no cache when absent */
  cacheDir?: string;
  /** after each image's features are ready (from the cache or extracted) */
  onImage?: (file: string, cached: boolean) => void;
}

export interface ExtractStats {
  images: number;
  cached: number;
  /** summed per stage over extracted (not cached) images, ms */
  times: StageTimes;
}

/** Where the workers' previews go (harness/samples/previews.ts): made from the pixels they decode anyway. */
export interface PreviewSink {
  request: PreviewRequest;
  /** each preview a worker made; images whose features came from the cache are not decoded, so get none */
  write(file: string, sha256: string, png: Uint8Array): Promise<void>;
}

export interface ExtractOptions {
  previews?: PreviewSink;
  /** after each image, with how many of `files` are done */
  onProgress?: (done: number, total: number) => void;
}

export interface Extractor {
  extract(files: readonly string[], options?: ExtractOptions): Promise<ImageFeatures[]>;
  stats(): ExtractStats;
  loadTimes(): Promise<number[]>;
  close(): Promise<void>;
}

export function createExtractor(options: ExtractorOptions = {}): Extractor {
  let pool: ExtractorPool | null = null;
  const workers = options.workers ?? defaultWorkers();
  const cache: FeatureCache | null = options.cacheDir ? createFeatureCache(options.cacheDir, SCORER_VERSION) : null;
  const stats: ExtractStats = { images: 0, cached: 0, times: emptyStageTimes() };
  const getPool = () => (pool ??= createPool(workers));

  const one = async (file: string, call: ExtractOptions): Promise<ImageFeatures> => {
    stats.images++;
    let hash: string;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
      hash = sha256(bytes);
    } catch (error) {
      return failedFeatures(`cannot read image: ${(error as Error).message}`);
    }
    const cached = await cache?.get(hash);
    if (cached) {
      stats.cached++;
      options.onImage?.(file, true);
      return cached;
    }
    const { features, times, preview } = await getPool().extract(file, { bytes, sha256: hash }, call.previews?.request);
    for (const stage of Object.keys(times) as (keyof StageTimes)[]) stats.times[stage] += times[stage];
    await cache?.set(features);
    if (preview && call.previews) await call.previews.write(file, hash, preview);
    options.onImage?.(file, false);
    return features;
  };

  return {
    // a bounded window: hashing every file of a large set at once would hold them all in memory
    extract: (files, options = {}) => {
      let done = 0;
      return pMap(files, async (file) => {
        const features = await one(file, options);
        options.onProgress?.(++done, files.length);
        return features;
      }, { concurrency: workers * 2 });
    },
    stats: () => structuredClone(stats),
    loadTimes: () => getPool().loadTimes(),
    close: async () => {
      await pool?.close();
      pool = null;
    },
  };
}

export async function listImages(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(`cannot read image folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'pass a folder of PNG, JPEG or WebP images');
  }
  return entries
    .filter((e) => e.isFile() && isImageFile(e.name))
    .map((e) => e.name)
    .sort();
}

export interface ScorerOptions extends ExtractorOptions {
  referenceDir: string;
  /** share one extractor (and its loaded models) between several scorers */
  extractor?: Extractor;
  /** include face embeddings in image scores (for drift checks); default true */
  embeddings?: boolean;
}

export interface ScoreOptions extends ExtractOptions {
  names?: readonly string[];
}

export interface Scorer {
  scoreFiles(files: readonly string[], options?: ScoreOptions): Promise<ScoreReport>;
  /** every image of a folder, named relative to it */
  scoreDir(dir: string, options?: ExtractOptions): Promise<ScoreReport>;
  readonly reference: ScoreReport['reference'];
  close(): Promise<void>;
}

function roundScore(score: ImageScore, embeddings: boolean): ImageScore {
  const out: ImageScore = { ...score };
  for (const marker of MARKERS) out[marker] = score[marker] === null ? null : round(score[marker]);
  if (score.yaw !== undefined) out.yaw = round(score.yaw, 2);
  if (score.pitch !== undefined) out.pitch = round(score.pitch, 2);
  if (score.bodyConfidence !== undefined) out.bodyConfidence = round(score.bodyConfidence, 4);
  if (score.measures) {
    out.measures = {
      ...(score.measures.nose ? { nose: score.measures.nose.map((v) => round(v)) } : {}),
      ...(score.measures.neck === undefined ? {} : { neck: round(score.measures.neck) }),
      ...(score.measures.neckPose === undefined ? {} : { neckPose: round(score.measures.neckPose) }),
    };
  }
  if (!embeddings) delete out.embedding;
  return out;
}

function referenceWarnings(model: ReferenceModel): string[] {
  const warnings: string[] = [];
  const reasons: Record<Exclude<keyof ReferenceModel, 'count' | 'identity'>, string> = {
    nose: 'no reference photo has a near-frontal face: nose cannot be scored',
    neck: 'no reference photo shows chin and level shoulders: neck cannot be scored',
    neckPose: 'no reference photo shows both ears and level shoulders: neck cannot be scored on back views',
    hair: 'no reference photo shows the hair above the forehead: curls cannot be scored',
  };
  for (const key of Object.keys(reasons) as (keyof typeof reasons)[]) if (!model[key]) warnings.push(reasons[key]);
  return warnings;
}

/** Leave-one-out: each reference photo scored against the others; the ceiling a generated image can reach. */
function leaveOneOut(names: readonly string[], features: readonly ImageFeatures[]): ImageScore[] {
  if (features.length < 2) return [];
  return features.map((f, i) => scoreFeatures(names[i]!, f, buildReferenceModel(features.filter((_, j) => j !== i))));
}

export async function createScorer(options: ScorerOptions): Promise<Scorer> {
  const extractor = options.extractor ?? createExtractor(options);
  const owned = !options.extractor;
  const embeddings = options.embeddings ?? true;
  try {
    const names = await listImages(options.referenceDir);
    if (names.length === 0) throw new UsageError(`reference folder ${options.referenceDir} has no PNG, JPEG or WebP images`, 'pass the training photos with --reference <dir>');
    const features = await extractor.extract(names.map((n) => path.join(options.referenceDir, n)));
    const model = buildReferenceModel(features);
    if (!model.identity) {
      throw new UsageError(
        `reference folder ${options.referenceDir}: no usable face in any of its ${names.length} images`,
        'the references must show the person\'s face (near-frontal photos work best)',
      );
    }
    const loo = leaveOneOut(names, features).map((s) => roundScore(s, false));
    const ceiling = summarise(loo);
    const warnings = referenceWarnings(model);
    const unreadable = names.filter((_, i) => features[i]!.error);
    if (unreadable.length) warnings.push(`unreadable reference images, left out: ${unreadable.join(', ')}`);
    if (names.length < 2) warnings.push('one reference photo: no leave-one-out ceiling, and nose/neck spreads use the fixed floors');
    const reference: ScoreReport['reference'] = {
      dir: options.referenceDir,
      count: names.length,
      ceiling: loo.length ? ceiling : {},
      ...(loo.length ? { images: loo } : {}),
      ...(warnings.length ? { warnings } : {}),
    };

    const scoreFiles: Scorer['scoreFiles'] = async (files, opts = {}) => {
      const extracted = await extractor.extract(files, opts);
      const images = extracted.map((f, i) => roundScore(scoreFeatures(opts.names?.[i] ?? files[i]!, f, model), embeddings));
      const perPrompt = summarisePerPrompt(images);
      return {
        schemaVersion: SCORE_SCHEMA_VERSION,
        scorer: { version: SCORER_VERSION, models: { ...HUMAN_MODELS } },
        reference,
        images,
        summary: summarise(images),
        ...(perPrompt ? { perPrompt } : {}),
        missingCounts: countMissing(images),
      };
    };

    return {
      reference,
      scoreFiles,
      async scoreDir(dir, options = {}) {
        const files = await listImages(dir);
        return scoreFiles(files.map((f) => path.join(dir, f)), { ...options, names: files });
      },
      close: async () => {
        if (owned) await extractor.close();
      },
    };
  } catch (error) {
    if (owned) await extractor.close();
    throw error;
  }
}

export type { Marker, ScoreReport };
/** The main face of one image (dataset prepare's face crop); scores nothing. */
export { detectMainFace, type DetectedFace } from './detect.ts';
