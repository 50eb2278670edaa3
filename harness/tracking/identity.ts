// Who a harness run is on W&B: one W&B run per harness run, named by the run id so reruns resume it.
import type { RunSpec } from '../plan/planner.ts';
import { gpuName, wandbRunName } from './derive.ts';
import type { TrackingTarget } from './mode.ts';
import type { TrackedRunIdentity } from './types.ts';

export interface IdentityInput {
  spec: RunSpec;
  envInfo: Record<string, unknown> | undefined;
  target: TrackingTarget;
  /** process env: WANDB_RUN_ID / WANDB_SWEEP_ID of a sweep trial; leave them out for `harness sync` */
  env: NodeJS.ProcessEnv;
  /** default: the experiment name */
  group?: string;
}

export function identityFor(input: IdentityInput): TrackedRunIdentity {
  const { spec, target, env } = input;
  const trialName = env.WANDB_RUN_ID?.trim();
  const gpu = gpuName(input.envInfo);
  const tags = [spec.variant, ...(gpu ? [gpu] : [])].map((tag) => tag.slice(0, 64));
  return {
    name: trialName ? wandbRunName(trialName) : wandbRunName(spec.id),
    displayName: spec.id,
    project: target.project ?? spec.experiment,
    entity: target.entity,
    group: input.group ?? spec.experiment,
    jobType: 'train',
    tags: [...new Set(tags)],
    sweep: env.WANDB_SWEEP_ID?.trim() || null,
  };
}
