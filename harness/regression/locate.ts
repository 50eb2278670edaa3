// Which sample set is "the current one" of a run: final weights, the experiment's sampling spec, newest.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import type { SamplerJobSpec } from '../samples/protocol.ts';
import type { SampleSetManifest, SamplingSpec } from '../samples/types.ts';
import { runLayout, sampleSetFiles } from '../store/layout.ts';
import { specHash } from './spec-diff.ts';

export interface FoundSet {
  dir: string;
  manifest: SampleSetManifest;
  /** the sampler's job file, when the set folder still has it (batch size, scheduler config) */
  samplerJob: SamplerJobSpec | null;
}

/** Complete sets only: set.json is written last, so a folder without a readable one is skipped. */
export async function listSampleSets(samplesDir: string): Promise<FoundSet[]> {
  let names: string[];
  try {
    names = (await readdir(samplesDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  const sets: FoundSet[] = [];
  for (const name of names.sort()) {
    const dir = path.join(samplesDir, name);
    const files = sampleSetFiles(dir);
    const manifest = await readJsonOrNull<SampleSetManifest>(files.manifest);
    if (!manifest || !Array.isArray(manifest.images) || !manifest.spec) continue;
    sets.push({ dir, manifest, samplerJob: await readJsonOrNull<SamplerJobSpec>(files.samplerSpec) });
  }
  return sets;
}

export async function findCurrentSet(options: {
  storeRoot: string;
  experiment: string;
  experimentFile: string;
  runId: string;
  variant: string;
  provisional: boolean;
  spec: SamplingSpec;
  /** the store's other runs of this variant and how each differs from the planned one (for the hint) */
  otherRuns?: () => Promise<string[]>;
}): Promise<FoundSet> {
  const layout = runLayout(options.storeRoot, options.experiment, options.runId);
  const sets = await listSampleSets(layout.samplesDir);
  const wanted = specHash(options.spec);
  const matching = sets
    .filter((s) => s.manifest.weights?.kind === 'final' && specHash(s.manifest.spec) === wanted)
    .sort((a, b) => String(b.manifest.createdAt).localeCompare(String(a.manifest.createdAt)));
  const newest = matching[0];
  if (newest) return newest;
  const trained = await stat(layout.dir).then((s) => s.isDirectory(), () => false);
  const why = sets.length
    ? `it has ${sets.length} sample set(s), none of the final weights with the experiment's current samples: settings (${sets.map((s) => s.manifest.setId).join(', ')})`
    : trained
      ? `no sample sets in ${layout.samplesDir}`
      : `the run was never started in this store (no folder ${layout.dir})`;
  // the real cause first: other runs of this variant that the experiment no longer plans, and why
  const others = trained ? [] : ((await options.otherRuns?.()) ?? []);
  const hint = others.length
    ? `the store holds other runs of "${options.variant}", which differ from the one the experiment plans now:\n${others.map((o) => `  ${o}`).join('\n')}\n` +
      `restore what changed, or train the planned run: harness sweep ${options.experimentFile} --only ${options.variant}`
    : options.provisional
      ? 'the run id is provisional (dataset missing or a model unpinned): pass --dataset DIR, or check with --store where the runs are'
      : trained
        ? `render them first: harness sample ${options.experimentFile}${options.variant === 'baseline' ? '' : ` --variant ${options.variant}`} (or harness sweep)`
        : `train and sample it first: harness sweep ${options.experimentFile} --only ${options.variant}`;
  throw new UsageError(`nothing to check for variant "${options.variant}" (run ${options.runId}): ${why}`, hint);
}

async function readJsonOrNull<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}
