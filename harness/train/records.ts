// The files a run folder describes itself with before its trainer starts (DESIGN.md §4, Hydra's habit):
// spec.json (what python/train.py reads), command.json, env.json. Pure builders; the caller writes them.
import os from 'node:os';
import type { RunSpec } from '../plan/planner.ts';
import type { CommandSpec } from '../runner/process.ts';
import type { EnvProbe } from './envinfo.ts';

export interface TrainerSpec {
  script: string;
  scriptSha256: string;
  scriptPinned: boolean;
  /** the full argv after the script path for this attempt, --resume_from_checkpoint included */
  argv: string[];
  outputDir: string;
  events: string;
  attempt: number;
  resumeFrom: string | null;
  resumeStep: number;
  /** leave the script once the LoRA is saved, skipping its full-pipeline reload */
  stopAfterSave: boolean;
  stopOnNan: boolean;
}

/** `spec.json`: the run spec itself (what every reader of the store expects) plus what the trainer needs. */
export function specRecord(run: RunSpec, trainer: TrainerSpec): object {
  return { ...run, trainer };
}

export function commandRecord(command: CommandSpec, attempt: number, launcher: string): object {
  return { attempt, launcher, file: command.file, args: command.args, cwd: command.cwd, env: command.env };
}

export function envRecord(probe: EnvProbe, extras: { gitSha: string | null; launcher: string }): object {
  return {
    recordedAt: new Date().toISOString(),
    host: os.hostname(),
    node: process.version,
    harnessGitSha: extras.gitSha,
    launcher: extras.launcher,
    python: probe.ok ? probe.info : { executable: probe.python, error: probe.message },
  };
}
