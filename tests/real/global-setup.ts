// Makes the real stack (CPU Python environment, tiny SDXL) before any test file runs, with progress on the
// console, so no test's timeout has to cover a first-time pip install. On a machine that has both already
// this takes a second (both are checked, nothing is rebuilt).
import path from 'node:path';
import { loadExperiment } from '../../harness/config/load.ts';
import { hubCacheDir } from '../../harness/commands/context.ts';
import { prepareMachine } from '../../harness/pipeline/prepare.ts';

export default async function setup(): Promise<void> {
  const repo = path.resolve(import.meta.dirname, '../..');
  const experiment = await loadExperiment(path.join(repo, 'experiments', 'demo.yaml'));
  const started = Date.now();
  await prepareMachine({
    experiment,
    hubCache: hubCacheDir(process.env),
    env: process.env,
    onProgress: (message) => process.stderr.write(`[real stack] ${message}\n`),
  });
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 2) process.stderr.write(`[real stack] ready in ${seconds.toFixed(0)} s\n`);
}
