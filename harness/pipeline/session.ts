// What a process shares between the runs it works on: the script, the train/sample options, one scorer
// (models loaded once, lazily), and one mirror per run.
import type { PlanContext } from '../commands/context.ts';
import type { Launcher } from '../runner/command.ts';
import { createScorer, type Scorer } from '../scoring/index.ts';
import { runLayout, scoreFeatureCacheDir } from '../store/layout.ts';
import { mirrorRun, type RunMirror } from '../tracking/mirror.ts';
import { defaultPython } from '../train/envinfo.ts';
import { DEFAULT_TRAIN_OPTIONS } from '../train/run.ts';
import type { ScriptFile } from '../train/script.ts';
import type { RunSpec } from '../plan/planner.ts';
import type { PipelineContext } from './stages.ts';
import path from 'node:path';

/** How runs are trained and sampled on this machine: the flags `harness run` and `harness sweep` share. */
export interface PipelineFlags {
  python?: string;
  launcher?: Launcher;
  numProcesses?: number;
  /** false: skip the environment and GPU checks */
  preflight?: boolean;
  finalReload?: boolean;
  /** local model folders instead of the pinned snapshots */
  model?: string;
  vae?: string;
  device?: 'cuda' | 'cpu';
  batchSize?: number;
}

const PIPELINE_FLAGS = ['python', 'launcher', 'numProcesses', 'preflight', 'finalReload', 'model', 'vae', 'device', 'batchSize'] as const;

/** The pipeline flags a command was given, without the ones left unset. */
export function pipelineFlags(options: PipelineFlags): PipelineFlags {
  return Object.fromEntries(PIPELINE_FLAGS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]])) as PipelineFlags;
}

export interface SessionOptions extends PipelineFlags {
  context: PlanContext;
  script: ScriptFile;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** W&B group (default: the experiment) */
  group?: string;
}

export interface Session {
  pipeline: PipelineContext;
  scorer(): Promise<Scorer>;
  mirror(run: RunSpec): RunMirror;
  close(): Promise<void>;
}

export function openSession(options: SessionOptions): Session {
  const python = options.python ?? defaultPython(options.env);
  const pipeline: PipelineContext = {
    context: options.context,
    cwd: options.cwd,
    env: options.env,
    train: {
      ...DEFAULT_TRAIN_OPTIONS,
      python,
      launcher: options.launcher ?? DEFAULT_TRAIN_OPTIONS.launcher,
      numProcesses: options.numProcesses ?? 1,
      script: options.script,
      preflight: options.preflight ?? true,
      finalReload: options.finalReload ?? false,
      ...(options.device ? { device: options.device } : {}),
      ...(options.env.HARNESS_KILL_GRACE_MS ? { killGraceMs: Number(options.env.HARNESS_KILL_GRACE_MS) } : {}),
    },
    sample: {
      // a stand-in sampler may need another interpreter than the trainer (tests run a Node fixture)
      python: options.env.HARNESS_SAMPLER_PYTHON || python,
      ...(options.device ? { device: options.device } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.model ? { modelDir: path.resolve(options.cwd, options.model) } : {}),
      ...(options.vae ? { vaeDir: path.resolve(options.cwd, options.vae) } : {}),
    },
  };
  let scorer: Promise<Scorer> | undefined;
  return {
    pipeline,
    scorer() {
      scorer ??= createScorer({
        referenceDir: options.context.experiment.referenceDir,
        cacheDir: scoreFeatureCacheDir(options.context.storeRoot),
      });
      return scorer;
    },
    mirror(run) {
      return mirrorRun({
        runDir: runLayout(options.context.storeRoot, run.experiment, run.id).dir,
        spec: run,
        experimentConfig: options.context.experiment.config,
        env: options.env,
        ...(options.group ? { options: { group: options.group } } : {}),
      });
    },
    async close() {
      if (scorer) await (await scorer.catch(() => undefined))?.close();
    },
  };
}
