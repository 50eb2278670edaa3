// `harness run <experiment> --variant <name> | --index N | --params-json-file F`: one run end to end
// (train → sample → score, mirrored to W&B), what a W&B sweep agent or a SLURM array task calls. Re-plans
// the run with the user's one-off changes (--set, --script, a parameter file) so its id says what was
// really trained.
import { settingsWarnings } from '../config/rules.ts';
import type { TrainingSettings } from '../config/schema.ts';
import { formatProblem, UsageError } from '../errors.ts';
import { requirePinned } from '../hub/pin-state.ts';
import { checkUpFront } from '../pipeline/upfront.ts';
import { openSession, pipelineFlags, type PipelineFlags } from '../pipeline/session.ts';
import { parseSetOverrides } from '../pipeline/set-overrides.ts';
import { resolveScript, selectRun, type RunSelector } from '../pipeline/resolve.ts';
import { prepareForRuns } from '../pipeline/prepare.ts';
import { cpuStage, gpuStage, type CpuOutcome, type GpuOutcome, type Until } from '../pipeline/stages.ts';
import type { SampleProgress } from '../samples/render.ts';
import { runLayout } from '../store/layout.ts';
import { tryLock } from '../store/lock.ts';
import type { TrainReporter } from '../train/progress.ts';
import type { TrainResult } from '../train/run.ts';
import { checkStore, loadPlanContext, requireDataset, type ContextOptions } from './context.ts';

export { parseSetOverrides };

export interface RunCommandOptions extends ContextOptions, PipelineFlags {
  selector: RunSelector;
  script?: string;
  /** `key=value` one-off training settings */
  set?: string[];
  /** train even though base.model or base.vae is unpinned (and no local folder replaces it) */
  unpinned?: boolean;
  until?: Until;
  reporter?: TrainReporter;
  onSampleProgress?: (progress: SampleProgress) => void;
  signal?: AbortSignal;
}

export interface RunCommandResult extends TrainResult {
  experiment: string;
  overrides: TrainingSettings;
  script: { path: string; sha256: string; pinned: boolean };
  /** where the pipeline got to: trained, sampled, done, or failed (status.json says why) */
  state: GpuOutcome['state'] | CpuOutcome['state'];
  samples: { setId: string; kind: string; images: number; dir: string }[];
  identity: number | null;
  tracking: { mode: string; why: string; error: string | null } | null;
  /** sample sets that were asked for (final, samples.checkpoints) but could not be made, with why */
  missingSets: { what: string; why: string }[];
}

export async function run(options: RunCommandOptions): Promise<RunCommandResult> {
  const context = await loadPlanContext(options);
  requireDataset(context);
  const sets = parseSetOverrides(options.set ?? []);
  requirePinned(context.experiment.config, options.experiment, { allowUnpinned: options.unpinned ?? false, localModel: Boolean(options.model), localVae: Boolean(options.vae) });
  await checkStore(context.storeRoot, context.storeSource, 'write');
  const script = await resolveScript({ script: options.script, cwd: options.cwd, env: options.env, experimentArg: options.experiment }, context.experiment.config.base.diffusers);
  const spec = await selectRun(context, script, { selector: options.selector, sets, model: options.model, vae: options.vae, cwd: options.cwd });
  // The experiment's warnings, and those of what --set or a parameter file changed (plan never saw those).
  const changed = new Set(Object.keys({ ...sets, ...('paramsFile' in options.selector ? spec.overrides : {}) }));
  const configWarnings = [
    ...context.experiment.warnings.map(formatProblem),
    ...settingsWarnings(spec.variant, spec.settings)
      .filter((w) => w.keys.some((key) => changed.has(key)))
      .map((w) => `${'paramsFile' in options.selector ? options.selector.paramsFile : '--set'}: ${w.message}`),
  ];
  for (const warning of configWarnings) options.reporter?.warn(warning);
  const machine = await prepareForRuns(context, options, (message) => options.reporter?.phase(message));
  // Refuse once, before the run folder, its lock or a W&B record exists.
  // (its warnings come again from the run's own preflight, which reports them)
  await checkUpFront(context, [spec], {
    python: machine.python,
    device: machine.device,
    probe: machine.probe,
    preflight: options.preflight ?? true,
    cwd: options.cwd,
    env: options.env,
    command: `harness run ${options.experiment}`,
  });
  const layout = runLayout(context.storeRoot, spec.experiment, spec.id);
  const lock = await tryLock(layout.lock, { purpose: 'run' });
  if ('heldBy' in lock) {
    throw new UsageError(
      `run ${spec.id} is locked by pid ${lock.heldBy.pid} on ${lock.heldBy.host} (${lock.heldBy.purpose}, heartbeat ${lock.heldBy.heartbeatAt})`,
      'wait for it to finish; a lock whose process died is taken over automatically',
    );
  }
  const tookOver = lock.tookOverFrom ? [`took over a stale lock of pid ${lock.tookOverFrom.pid} on ${lock.tookOverFrom.host}`] : [];
  for (const warning of tookOver) options.reporter?.warn(warning);
  const session = openSession({ context, script, cwd: options.cwd, env: options.env, ...pipelineFlags(options), python: machine.python, device: machine.device });
  const mirror = session.mirror(spec);
  let exitCode = 1;
  try {
    const gpu = await gpuStage(session.pipeline, spec, {
      until: options.until ?? 'score',
      holdsLock: true,
      mirror,
      ...(options.reporter ? { reporter: options.reporter } : {}),
      ...(options.onSampleProgress ? { onSampleProgress: options.onSampleProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let state: RunCommandResult['state'] = gpu.state;
    let identity: number | null = null;
    if (gpu.state === 'sampled' && (options.until ?? 'score') === 'score') {
      options.reporter?.phase(`scoring ${spec.id} against ${context.experiment.referenceDir}`);
      const cpu = await cpuStage(session.pipeline, gpu, { scorer: () => session.scorer(), mirror, ...(options.signal ? { signal: options.signal } : {}) });
      state = cpu.state;
      identity = cpu.identity;
    }
    const interrupted = gpu.reason === 'interrupted' || (state === 'failed' && options.signal?.aborted === true);
    exitCode = state === 'failed' ? (interrupted ? 130 : 1) : 0;
    const tracking = await mirror.finish(exitCode);
    const train = gpu.train ?? alreadyDone(spec.id, spec.variant, layout.dir);
    return {
      ...train,
      warnings: [...configWarnings, ...tookOver, ...train.warnings],
      experiment: context.experiment.name,
      overrides: spec.overrides,
      script: { path: script.path, sha256: script.sha256, pinned: script.pinned },
      state,
      ...(gpu.state === 'failed' && gpu.train?.outcome !== 'failed' ? { outcome: 'failed' as const, reason: gpu.reason, message: gpu.message } : {}),
      samples: (gpu.samples?.sets ?? []).map((s) => ({ setId: s.setId, kind: s.weights.kind, images: s.images, dir: s.dir })),
      identity,
      tracking: { mode: tracking.mode, why: tracking.why, error: tracking.error },
      missingSets: gpu.samples?.skipped ?? [],
    };
  } finally {
    await session.close();
    await lock.release();
  }
}

function alreadyDone(runId: string, variant: string, runDir: string): TrainResult {
  return {
    schemaVersion: 1, runId, variant, runDir, outcome: 'already_trained', message: 'already done (trained, sampled and scored)',
    attempt: null, resumedFrom: null, totalSteps: null, summary: null, weights: null, exitCode: null, signal: null, wallSeconds: null, warnings: [], preflight: null,
  };
}
