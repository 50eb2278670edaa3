// Pure: which Hub references of an experiment are pinned to commits. Plan warns, sweep refuses.
import { UsageError } from '../errors.ts';
import type { ExperimentFile } from '../config/schema.ts';
import type { RepoType } from './client.ts';

export interface HubRefState {
  /** key path in the experiment file */
  path: (string | number)[];
  type: RepoType;
  id: string;
  commit: string | null;
}

/**
 * Every Hub reference the experiment names: the base model and the VAE (datasets are local folders today).
 * Models the harness builds itself (`build:`) are not on the Hub: their commit is the digest of the build.
 */
export function hubRefs(config: Pick<ExperimentFile, 'base'>): HubRefState[] {
  return (['model', 'vae'] as const).filter((which) => config.base[which].build === undefined).map((which) => ({
    path: ['base', which, 'commit'],
    type: 'model' as const,
    id: config.base[which].id,
    commit: config.base[which].commit,
  }));
}

export function unpinnedRefs(config: Pick<ExperimentFile, 'base'>): HubRefState[] {
  return hubRefs(config).filter((ref) => ref.commit === null);
}

export function isPinned(config: Pick<ExperimentFile, 'base'>): boolean {
  return unpinnedRefs(config).length === 0;
}

/**
 * What `sweep` and `run` call before training: unpinned models are an error unless the user says
 * --unpinned, or names a local folder for them (--model, --vae: the user chose those weights).
 */
export function requirePinned(
  config: Pick<ExperimentFile, 'base'>,
  file: string,
  options: { allowUnpinned?: boolean; localModel?: boolean; localVae?: boolean } = {},
): void {
  const missing = unpinnedRefs(config).filter((ref) => !(ref.path[1] === 'model' ? options.localModel : options.localVae));
  if (missing.length === 0 || options.allowUnpinned) return;
  throw new UsageError(
    `${file}: not pinned to commits: ${missing.map((ref) => `${ref.path.slice(0, -1).join('.')} (${ref.id})`).join(', ')}; ` +
      'an unpinned run trains on whatever the Hub serves today and cannot be reproduced',
    `run \`harness pin ${file}\` (writes the commits into the file), pass --model DIR / --vae DIR (local folders), or --unpinned to train anyway`,
  );
}
