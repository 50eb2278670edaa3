// A finished run in a real store folder, shaped by the contracts (spec.json from `harness plan`,
// samples/<set>/set.json, scores/<set>.json), plus a report folder that links a series strip.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { harness } from '../helpers/cli.ts';
import { assets } from '../../harness/report/assets.ts';
import { runLayout } from '../../harness/store/layout.ts';
import type { RunSpec } from '../../harness/plan/planner.ts';
import type { SampleSetManifest } from '../../harness/samples/types.ts';
import type { ScoreReport } from '../../harness/scoring/types.ts';
import { sha256 } from '../../harness/util/hash.ts';

export async function planRuns(dir: string, file: string, env: Record<string, string | undefined>): Promise<RunSpec[]> {
  const plan = await harness(['plan', file, '--json'], { cwd: dir, env });
  if (plan.exitCode !== 0) throw new Error(plan.stderr);
  return JSON.parse(plan.stdout).runs as RunSpec[];
}

export interface RunFixtureOptions {
  samples?: boolean;
  scores?: boolean;
  checkpoint?: boolean;
  state?: string;
}

export async function writeRun(storeRoot: string, spec: RunSpec, opts: RunFixtureOptions = {}): Promise<ReturnType<typeof runLayout>> {
  const layout = runLayout(storeRoot, spec.experiment, spec.id);
  await mkdir(layout.output, { recursive: true });
  await writeFile(layout.spec, JSON.stringify(spec, null, 2));
  await writeFile(layout.weights, randomBytes(30_000));
  await writeFile(layout.env, JSON.stringify({ schemaVersion: 1, python: '3.11.9', torch: '2.6.0', diffusers: '0.40.0', gpu: 'Tesla P100-PCIE-16GB', host: 'colab-vm' }));
  await writeFile(layout.status, JSON.stringify({ schemaVersion: 1, runId: spec.id, variant: spec.variant, state: opts.state ?? 'done', updatedAt: '2026-11-20T10:00:00Z', history: [] }));
  await writeFile(layout.events, '{"v":1,"type":"start"}\n{"v":1,"type":"weights_saved"}\n');
  if (opts.checkpoint) {
    await mkdir(layout.checkpoint(100), { recursive: true });
    await writeFile(path.join(layout.checkpoint(100), 'optimizer.bin'), randomBytes(5_000));
  }
  if (opts.samples === false) return layout;
  const setId = `final-${spec.id.slice(-8)}`;
  const setDir = layout.sampleSet(setId);
  await mkdir(setDir, { recursive: true });
  const prompts = [
    { id: '01-profile-before', prompt: 'a photo of TOK boy, profile portrait before the event' },
    { id: '02-forest-haze', prompt: 'a photo of TOK boy, standing in a forest in thick haze' },
  ];
  const images = [];
  for (const p of prompts) {
    for (const seed of [11, 22]) {
      const bytes = randomBytes(2_000);
      const file = `${p.id}__s${seed}.png`;
      await writeFile(path.join(setDir, file), bytes);
      images.push({ promptId: p.id, seed, file, sha256: sha256(bytes), width: 64, height: 64 });
    }
  }
  const manifest: SampleSetManifest = {
    schemaVersion: 1,
    setId,
    runId: spec.id,
    experiment: spec.experiment,
    weights: { kind: 'final', path: layout.weights, sha256: 'x'.repeat(64) },
    spec: { prompts, seeds: [11, 22], steps: 30, guidance_scale: 5, scheduler: 'euler', width: 64, height: 64, lora_scale: 1, negative_prompt: '' },
    model: spec.provenance.model,
    vae: spec.provenance.vae,
    images,
    env: {},
    createdAt: '2026-11-20T11:00:00Z',
  };
  await writeFile(path.join(setDir, 'set.json'), JSON.stringify(manifest, null, 2));
  if (opts.scores !== false) {
    const agg = (mean: number) => ({ mean, median: mean, ci95: [mean - 0.05, mean + 0.05] as [number, number], n: 4, total: 4 });
    const report: ScoreReport = {
      schemaVersion: 1,
      scorer: { version: 'identity-1', models: {} },
      reference: { count: 11, ceiling: { identity: agg(0.9) } },
      images: [],
      summary: { identity: agg(0.8123), curls: agg(0.61), nose: agg(0.7), neck: { mean: null, median: null, ci95: null, n: 0, total: 4 } },
    };
    await mkdir(layout.scoresDir, { recursive: true });
    await writeFile(layout.scores(setId), JSON.stringify(report));
  }
  return layout;
}

/** reports/<experiment>/ with report.md linking a chart and this run's series strip, and a file it does not link. */
export async function writeReport(cwd: string, experiment: string, runId: string): Promise<string> {
  const dir = path.join(cwd, 'reports', experiment);
  const strip = assets.series(runId);
  await mkdir(path.join(dir, path.dirname(strip)), { recursive: true });
  await mkdir(path.join(dir, 'charts'), { recursive: true });
  await writeFile(path.join(dir, strip), randomBytes(3_000));
  await writeFile(path.join(dir, 'charts', 'loss.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(path.join(dir, 'notes.txt'), 'not linked');
  await writeFile(path.join(dir, 'report.md'), `# ${experiment}\n\n![loss](charts/loss.svg)\n\n![series](${strip})\n\n[W&B](https://wandb.ai/x)\n`);
  return dir;
}
