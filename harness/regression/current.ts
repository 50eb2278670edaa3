// The variant's run and its current sample set, with the environment it was rendered in.
import type { Experiment } from '../config/load.ts';
import { UsageError } from '../errors.ts';
import { otherRunsOfVariant } from '../plan/as-trained.ts';
import { findRun, type Plan, type RunSpec } from '../plan/planner.ts';
import { storedRuns } from '../store/runs.ts';
import { samplingSpecFrom } from '../samples/spec.ts';
import type { SamplingSpec } from '../samples/types.ts';
import type { Marker } from '../scoring/types.ts';
import { didYouMean } from '../util/suggest.ts';
import { fingerprintOf, type EnvFingerprint } from './fingerprint.ts';
import { findCurrentSet, type FoundSet } from './locate.ts';

export interface CurrentSet {
  run: RunSpec;
  set: FoundSet;
  spec: SamplingSpec;
  fingerprint: EnvFingerprint;
}

export function variantOf(experiment: Experiment, variant: string | undefined): string {
  return variant ?? experiment.config.regression.variant;
}

export function resolveRun(plan: Plan, variant: string, experimentFile: string): RunSpec {
  const run = findRun(plan, variant);
  if (run) return run;
  const names = plan.runs.flatMap((r) => [r.variant, ...r.aliases]);
  throw new UsageError(
    `variant "${variant}" is not planned by ${experimentFile}${didYouMean(variant, names)}`,
    `variants: ${names.join(', ')} (set regression.variant in the experiment or pass --variant)`,
  );
}

/** The experiment's sampling spec as it is now: what both the golden and the current set must have used. */
export function experimentSpec(experiment: Experiment): SamplingSpec {
  return samplingSpecFrom(experiment.config.samples);
}

export async function resolveCurrent(options: { experiment: Experiment; storeRoot: string; plan: Plan; variant: string; displayFile: string }): Promise<CurrentSet> {
  const { experiment } = options;
  const run = resolveRun(options.plan, options.variant, options.displayFile);
  const spec = experimentSpec(experiment);
  const set = await findCurrentSet({
    storeRoot: options.storeRoot,
    experiment: experiment.name,
    experimentFile: options.displayFile,
    runId: run.id,
    variant: options.variant,
    provisional: run.provisional,
    spec,
    otherRuns: async () => otherRunsOfVariant(run, await storedRuns(options.storeRoot, experiment.name)),
  });
  const fingerprint = fingerprintOf(set.manifest, { scriptSha256: run.provenance.scriptSha256, samplerJob: set.samplerJob });
  return { run, set, spec, fingerprint };
}

/** The markers the experiment scores (`scoring.markers`), typed as the scorer's markers. */
export function markersOf(experiment: Experiment): Marker[] {
  return experiment.config.scoring.markers as Marker[];
}
