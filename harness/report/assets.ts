// Where each generated file goes inside the report folder (relative, '/'-separated: also the link).
import { sha256 } from '../util/hash.ts';
import { assetSlug } from './escape.ts';
import type { ChartName } from './charts.ts';

export const REPORT_FILE = 'report.md';
/** Folders the report owns: files in them that a build did not write are stale and removed. */
export const ASSET_DIRS = ['charts', 'sheets', 'series', 'images', 'logs'] as const;
/** Resized images, keyed by content: kept between builds so a rebuild only resizes new samples. */
export const THUMB_CACHE_DIR = '.cache/thumbs';
export const CONTROL_KEY = '_control';

const slug = (id: string) => assetSlug(id, sha256);

export const assets = {
  chart: (name: ChartName) => `charts/${name}.svg`,
  sceneSheet: (sceneId: string) => `sheets/${slug(sceneId)}.png`,
  series: (runId: string) => `series/${slug(runId)}.png`,
  logTail: (runId: string) => `logs/${slug(runId)}.train-tail.txt`,
  /** full-size copy of one sample; the control's live under `_control` (no run id starts with `_`) */
  image: (runId: string | null, file: string) => `images/${runId === null ? CONTROL_KEY : slug(runId)}/${assetSlug(file, sha256)}`,
};
