// How a training process is launched, as data: `python train.py spec.json` for one process, or
// `python -m accelerate.commands.launch --config_file <run>/accelerate.yaml train.py spec.json` for several
// (the same interpreter, so --python picks accelerate too). Nothing here runs anything.
import path from 'node:path';
import type { CommandSpec } from './process.ts';

export type Launcher = 'python' | 'accelerate';

export interface TrainCommandInputs {
  python: string;
  launcher: Launcher;
  numProcesses: number;
  trainPy: string;
  specFile: string;
  accelerateConfig: string;
  runDir: string;
  env: Record<string, string>;
}

export function trainCommand(inputs: TrainCommandInputs): CommandSpec {
  const args =
    inputs.launcher === 'python'
      ? [inputs.trainPy, inputs.specFile]
      : ['-m', 'accelerate.commands.launch', '--config_file', inputs.accelerateConfig, inputs.trainPy, inputs.specFile];
  return { file: inputs.python, args, cwd: inputs.runDir, env: inputs.env };
}

export interface TrainEnvInputs {
  hubCache: string;
  datasetsCache: string;
  runDir: string;
  /** both models are local snapshots: nothing may be fetched at run time */
  offline: boolean;
  parentPid: number;
  /**
   * Train on the CPU: no GPU is visible to the trainer, and torch gets this many threads (OMP_NUM_THREADS).
   * One thread per process is the default: on a busy 2-core machine torch's default of one thread per core
   * ran 16× slower per step (8.6 s against 0.54 s, measured on the tiny SDXL).
   */
  cpu?: { threads: string };
}

/** Variables every training child gets; the inherited environment is kept underneath them. */
export function trainEnv(inputs: TrainEnvInputs): Record<string, string> {
  return {
    PYTHONUNBUFFERED: '1',
    PYTHONHASHSEED: '0',
    PYTHONDONTWRITEBYTECODE: '1',
    TOKENIZERS_PARALLELISM: 'false',
    HF_HUB_CACHE: inputs.hubCache,
    HF_DATASETS_CACHE: inputs.datasetsCache,
    ...(inputs.offline ? { HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' } : {}),
    HF_HUB_DISABLE_TELEMETRY: '1',
    WANDB_DIR: path.join(inputs.runDir, 'wandb'),
    HARNESS_PARENT_PID: String(inputs.parentPid),
    HARNESS_OWN_GROUP: '1',
    ...(inputs.cpu ? { CUDA_VISIBLE_DEVICES: '', OMP_NUM_THREADS: inputs.cpu.threads } : {}),
  };
}

/** accelerate's config for our launches, so a stray ~/.cache/huggingface/accelerate config changes nothing. */
export function accelerateConfigYaml(numProcesses: number, mixedPrecision: string, useCpu = false): string {
  return [
    'compute_environment: LOCAL_MACHINE',
    `distributed_type: ${numProcesses > 1 ? 'MULTI_GPU' : 'NO'}`,
    'downcast_bf16: "no"',
    'dynamo_config: {}',
    "gpu_ids: all",
    'machine_rank: 0',
    'main_training_function: main',
    `mixed_precision: ${mixedPrecision}`,
    'num_machines: 1',
    `num_processes: ${numProcesses}`,
    'rdzv_backend: static',
    'same_network: true',
    `use_cpu: ${useCpu}`,
    '',
  ].join('\n');
}
