// Pure: the reproducibility facts: provenance, sampling and scoring settings, environments, commands.
import type { RunRow } from './analyze.ts';
import { flattenEnv } from './env.ts';
import { cmp } from './load.ts';
import type { LoadedSet } from './types.ts';

export interface Group<T> {
  value: T;
  runs: string[];
}

/** Groups runs by an equal value (canonical JSON), in order of first appearance. */
export function groupBy<T>(items: { run: string; value: T | null }[]): Group<T>[] {
  const groups = new Map<string, Group<T>>();
  for (const { run, value } of items) {
    if (value === null) continue;
    const key = JSON.stringify(value);
    const group = groups.get(key) ?? { value, runs: [] };
    group.runs.push(run);
    groups.set(key, group);
  }
  return [...groups.values()];
}

export function provenanceLines(row: RunRow): [string, string][] | null {
  const p = row.run.spec?.provenance;
  if (!p) return null;
  const lines: [string, string][] = [];
  const trainer = row.run.spec?.trainer;
  const sha256 = trainer?.scriptSha256 ?? p.scriptSha256;
  const pinned = trainer?.scriptPinned ?? p.scriptPinned ?? true;
  const pin = [p.diffusersRelease, p.diffusersCommit && `commit ${p.diffusersCommit}`].filter(Boolean).join(', ');
  if (pinned) {
    if (pin) lines.push(['diffusers', pin]);
    if (p.script) lines.push(['training script', p.script]);
    if (sha256) lines.push(['script sha256', sha256]);
  } else {
    // another script than the pin: its hash is never paired with the pinned release and commit
    const file = trainer?.script ?? p.scriptFile;
    lines.push(['training script', `a local copy${file ? ` (${file})` : ''}, not the pinned one`]);
    if (sha256) lines.push(['script sha256', sha256]);
    if (pin || p.script) lines.push(['stands in for', `${p.script ?? 'the pinned script'} of diffusers ${pin}${p.pinnedSha256 ? ` (sha256 ${p.pinnedSha256})` : ''}`]);
  }
  if (p.model?.id) lines.push(['model', `${p.model.id} @ ${p.model.commit ?? 'unpinned'}`]);
  if (p.vae?.id) lines.push(['VAE', `${p.vae.id} @ ${p.vae.commit ?? 'unpinned'}`]);
  if (p.datasetHash !== undefined) lines.push(['dataset sha256', p.datasetHash ?? 'not found when planned']);
  if (p.instancePrompt) lines.push(['instance prompt', p.instancePrompt]);
  return lines;
}

export function samplingLines(set: LoadedSet): [string, string][] {
  const m = set.manifest;
  const s = m.spec;
  const lines: [string, string][] = [];
  if (s) {
    lines.push(['sampler', `${s.scheduler}, ${s.steps} steps, guidance ${s.guidance_scale}, ${s.width}×${s.height}, LoRA scale ${m.weights.kind === 'control' ? 'none (control)' : s.lora_scale}`]);
    lines.push(['seeds', (s.seeds ?? []).join(', ')]);
    if (s.negative_prompt) lines.push(['negative prompt', s.negative_prompt]);
  }
  if (set.scores?.scorer?.version) lines.push(['scorer', `${set.scores.scorer.version}${set.scores.reference ? `, ${set.scores.reference.count} reference photos` : ''}`]);
  return lines;
}

export function envLines(row: RunRow): [string, string][] | null {
  const lines = flattenEnv(row.run.env);
  return lines.length > 0 ? lines : null;
}

/** The exact command of a run: command.json as written by the runner, else the planned argv. */
export function commandText(row: RunRow): { text: string; source: 'command.json' | 'spec.json' } | null {
  const command = row.run.command as unknown;
  const argv = asArgv(command) ?? asArgv((command as { argv?: unknown } | null)?.argv) ?? asArgv((command as { command?: unknown } | null)?.command);
  if (argv) {
    const cwd = (command as { cwd?: unknown }).cwd;
    return { text: `${typeof cwd === 'string' ? `cd ${quote(cwd)} && ` : ''}${argv.map(quote).join(' ')}`, source: 'command.json' };
  }
  if (typeof command === 'string') return { text: command, source: 'command.json' };
  if (command !== null && command !== undefined) return { text: JSON.stringify(command, null, 2), source: 'command.json' };
  const planned = row.run.spec?.argv;
  if (Array.isArray(planned)) {
    const script = row.run.spec?.provenance?.script ?? 'train_dreambooth_lora_sdxl.py';
    return { text: [script, ...planned].map(quote).join(' '), source: 'spec.json' };
  }
  return null;
}

function asArgv(value: unknown): string[] | null {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') ? (value as string[]) : null;
}

/** POSIX shell quoting (the report must not depend on the CLI layer's helpers). */
export function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function sortedRuns(runs: string[]): string[] {
  return [...runs].sort(cmp);
}
