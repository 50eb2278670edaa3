// Planning cost: parse + validate + plan the tok-boy experiment (what every command pays at start-up).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExperiment } from '../harness/config/load.ts';
import { planExperiment } from '../harness/plan/planner.ts';

export async function bench(): Promise<Record<string, number | string>> {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../experiments/tok-boy.yaml');
  const text = await readFile(file, 'utf8');
  const rounds = 200;
  const started = performance.now();
  let runs = 0;
  for (let i = 0; i < rounds; i++) {
    const { config } = parseExperiment('tok-boy.yaml', text, file);
    runs = planExperiment({ config, dataset: { dir: '/d', hash: 'a'.repeat(64), imageCount: 11 }, storeRoot: '/s', hubCache: '/h' }).runs.length;
  }
  const ms = (performance.now() - started) / rounds;
  return { runs_planned: runs, parse_and_plan_ms: ms };
}
