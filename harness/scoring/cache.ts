// Features cached by image content + scorer version; the caller chooses where (e.g. the run store).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeJsonAtomic } from '../store/atomic.ts';
import type { ImageFeatures } from './features.ts';

export interface FeatureCache {
  get(sha256: string): Promise<ImageFeatures | null>;
  set(features: ImageFeatures): Promise<void>;
}

export function featureCachePath(dir: string, version: string, sha256: string): string {
  return path.join(dir, version.replace(/[^\w.-]+/g, '_'), sha256.slice(0, 2), `${sha256}.json`);
}

export function createFeatureCache(dir: string, version: string): FeatureCache {
  return {
    async get(sha256) {
      try {
        const cached = JSON.parse(await readFile(featureCachePath(dir, version, sha256), 'utf8')) as { features?: ImageFeatures };
        return cached.features?.sha256 === sha256 ? cached.features : null;
      } catch {
        return null; // absent or half-written by a crashed process: extract again
      }
    },
    async set(features) {
      // unreadable images are not cached: the file may be fixed and keep its name but not its hash
      if (features.error) return;
      await writeJsonAtomic(featureCachePath(dir, version, features.sha256), { version, features });
    },
  };
}
