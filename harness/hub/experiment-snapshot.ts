// The snapshots an experiment's runs load: the SDXL base files and the VAE repo, at their pins.
import { UsageError } from '../errors.ts';
import type { ExperimentFile } from '../config/schema.ts';
import type { HubContext } from './client.ts';
import { sdxlBaseFiles, vaeRepoFiles, type Variants } from './pipeline-files.ts';
import { snapshotModel, type SnapshotProgress, type SnapshotResult } from './snapshot.ts';

export interface ExperimentSnapshotOptions {
  config: Pick<ExperimentFile, 'base'>;
  /** the `variant` setting of every run (null = full-precision files) */
  variants: Variants;
  cacheDir: string;
  ctx: HubContext;
  onProgress?: (progress: SnapshotProgress) => void;
  verify?: 'size' | 'full';
  /** record refs/main = the pinned commit (right after `pin` resolved main) */
  refMain?: boolean;
}

/** Snapshots the base model and the VAE at their pins; a model the harness builds (`build:`) is made, not downloaded, and is left out. */
export async function snapshotExperiment(options: ExperimentSnapshotOptions): Promise<SnapshotResult[]> {
  const { model, vae } = options.config.base;
  for (const ref of [model, vae].filter((r) => r.build === undefined)) {
    if (!ref.commit) throw new UsageError(`${ref.id} is not pinned: a snapshot is taken at a commit`, 'run `harness pin <experiment>` first');
  }
  const variants: Variants = options.variants.length > 0 ? [...new Set(options.variants)] : [null];
  const common = {
    cacheDir: options.cacheDir,
    ctx: options.ctx,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.verify ? { verify: options.verify } : {}),
    ...(options.refMain ? { ref: 'main' } : {}),
  };
  const results: SnapshotResult[] = [];
  if (model.build === undefined) {
    results.push(await snapshotModel({ ...common, id: model.id, commit: model.commit!, filter: (paths) => sdxlBaseFiles(paths, { variants, separateVae: true }) }));
  }
  if (vae.build === undefined) {
    results.push(await snapshotModel({ ...common, id: vae.id, commit: vae.commit!, filter: (paths) => vaeRepoFiles(paths, { variants }) }));
  }
  return results;
}
