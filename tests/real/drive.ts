// Driving `harness` on the real stack the way a user does: the CLI in a child process, the experiment edited
// as YAML, a run interrupted at a chosen moment by the same signal Ctrl-C sends. Shared by tests/real/*.test.ts.
import { execa, type ResultPromise } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { BIN, harness, REPO, type CliResult } from '../helpers/cli.ts';
import type { DemoWorkspace, RealStack } from './stack.ts';

export type YamlEdit = [path: (string | number)[], value: unknown];

/** Applies key-path edits to the experiment's YAML text, keeping its comments; `undefined` deletes a key. */
export function yamlWith(edits: YamlEdit[]): (yaml: string) => string {
  return (yaml) => {
    const doc = parseDocument(yaml);
    for (const [key, value] of edits) {
      if (value === undefined) doc.deleteIn(key);
      else doc.setIn(key, value);
    }
    return String(doc);
  };
}

/**
 * The demo at its smallest: 6 steps (3 per epoch: 6 images, batch 2), a checkpoint on each epoch boundary,
 * only the final weights sampled, no control set, W&B off. Every real sweep then costs one short training
 * and one 4-image sample set.
 */
export const SMALL: YamlEdit[] = [
  [['baseline', 'max_train_steps'], 6],
  [['baseline', 'checkpointing_steps'], 3],
  [['samples', 'checkpoints'], 'none'],
  [['samples', 'control'], false],
  [['tracking', 'wandb', 'mode'], 'disabled'],
];

export interface Driver {
  /** `harness <args>` in the workspace, with the real stack's variables; never rejects */
  cli(args: string[], options?: { env?: Record<string, string | undefined>; timeout?: number }): Promise<CliResult>;
  /** the same, started and left running (to interrupt it) */
  spawn(args: string[]): ResultPromise<{ reject: false }>;
}

export function driver(stack: RealStack, ws: DemoWorkspace): Driver {
  const env = { ...stack.env, NO_COLOR: '1', HARNESS_STORE: ws.store };
  return {
    cli: (args, options = {}) => harness(args, { cwd: ws.root, env: { ...env, ...options.env }, timeout: options.timeout ?? 480_000 }),
    spawn: (args) =>
      execa(process.execPath, [BIN, ...args], { cwd: ws.root, env, extendEnv: true, reject: false, timeout: 480_000, all: false }) as unknown as ResultPromise<{
        reject: false;
      }>,
  };
}

/** The JSON lines of a file (a missing file has none; a half-written last line is skipped). */
export async function jsonLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // the writer is mid-line
    }
  }
  return out;
}

export async function readJsonFile<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** Run folders of the demo experiment in the workspace's store, by id. */
export async function runDirs(ws: DemoWorkspace): Promise<string[]> {
  const dir = path.join(ws.store, 'demo');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('_')).map((e) => path.join(dir, e.name)).sort();
}

/** How many times a trainer was started for a run (its `start` events). */
export async function trainerStarts(runDir: string): Promise<number> {
  return (await jsonLines(path.join(runDir, 'events.jsonl'))).filter((e) => e.type === 'start').length;
}

export { REPO };
