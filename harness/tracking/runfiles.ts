// Pure: the run files W&B shows besides history (Overview, Files and Logs tabs), built from what the run
// store recorded: wandb-metadata.json (from env.json, command.json and the first start event),
// requirements.txt (env.json's package versions), config.yaml, output.log (train.log), wandb-summary.json.
// Names and shapes follow the official client's uploads (../shared/reference/wandb-official-0.30/).
import { stringify } from 'yaml';

export const METADATA_FILE = 'wandb-metadata.json';
export const REQUIREMENTS_FILE = 'requirements.txt';
export const CONFIG_FILE = 'config.yaml';
export const OUTPUT_FILE = 'output.log';
export const SUMMARY_UPLOAD_FILE = 'wandb-summary.json';

type Json = Record<string, unknown>;

function obj(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value : undefined;
}

/** The Python side of env.json: python/envinfo.py's report, under `python` (the harness's env.json) or at the top. */
function envReport(env: Json | undefined): Json | undefined {
  const nested = obj(env?.python);
  return nested && (nested.packages || nested.gpus || nested.torch) ? nested : env;
}

export interface MetadataInput {
  env: Json | undefined;
  command: Json | undefined;
  /** unix seconds of the run's first start event */
  startedAt: number | null;
}

/**
 * wandb-metadata.json: the keys the official client writes (os, python, startedAt, program, args, root,
 * host, executable) plus GPU, CUDA and git as the harness recorded them. Null when the store has no
 * env.json yet (the trainer writes it before it starts).
 */
export function metadataFrom(input: MetadataInput): Json | null {
  const { env, command } = input;
  if (!env) return null;
  const report = envReport(env);
  const python = obj(report?.python);
  const torch = obj(report?.torch);
  const gpus = Array.isArray(report?.gpus) ? (report.gpus as Json[]) : [];
  const args = Array.isArray(command?.args) ? (command.args as unknown[]).map(String) : [];
  const metadata: Json = {
    os: str(report?.platform),
    python: python ? [str(python.implementation), str(python.version)].filter(Boolean).join(' ') || undefined : undefined,
    startedAt: input.startedAt === null ? undefined : new Date(input.startedAt * 1000).toISOString(),
    program: args[0],
    args: args.length > 1 ? args.slice(1) : undefined,
    root: str(command?.cwd),
    host: str(env.host),
    executable: str(command?.file) ?? str(python?.executable),
    git: str(env.harnessGitSha) ? { commit: env.harnessGitSha } : undefined,
    gpu: str(gpus[0]?.name),
    gpu_count: gpus.length || undefined,
    gpu_nvidia: gpus.length
      ? gpus.map((gpu) => ({
          name: gpu.name,
          ...(typeof gpu.memory_mb === 'number' ? { memoryTotal: String(Math.round(gpu.memory_mb * 1024 * 1024)) } : {}),
          ...(str(gpu.capability) ? { computeCapability: gpu.capability } : {}),
          ...(str(gpu.driver) ? { driver: gpu.driver } : {}),
        }))
      : undefined,
    cudaVersion: str(torch?.cuda),
  };
  return Object.fromEntries(Object.entries(metadata).filter(([, value]) => value !== undefined));
}

/** requirements.txt: `name==version` of every package env.json found installed, sorted by name. */
export function requirementsFrom(env: Json | undefined): string | null {
  const packages = obj(envReport(env)?.packages);
  if (!packages) return null;
  const lines = Object.entries(packages)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, version]) => `${name}==${version}`);
  return lines.length ? `${lines.join('\n')}\n` : null;
}

/** config.yaml: the config as UpsertBucket sends it (`key: {value: …}`), keys sorted, as the official client writes it. */
export function configYaml(config: Record<string, { value: unknown }>): string {
  return stringify(config, { sortMapEntries: true, indent: 4 });
}
