// The real stack for tests: the harness's own CPU environment (python/requirements-cpu.txt: real torch,
// diffusers 0.40.0, transformers, accelerate, peft), the tiny SDXL built by python/make_tiny_sdxl.py, the
// pinned diffusers script from the mirror, and the demo experiment (experiments/demo.yaml, data/demo/).
// Nothing here is a stand-in: these tests drive `harness` exactly as a user does on this CPU machine.
//
// The environment and the model are made once per machine (tests/real/global-setup.ts, through the same
// code a user's first sweep runs) and reused from the user's caches (~/.cache/harness, the HF hub cache).
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadExperiment } from '../../harness/config/load.ts';
import { hubCacheDir } from '../../harness/commands/context.ts';
import { prepareMachine } from '../../harness/pipeline/prepare.ts';
import { snapshotPath } from '../../harness/plan/planner.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

export const DEMO_EXPERIMENT = path.join(REPO, 'experiments', 'demo.yaml');
export const DEMO_DATA = path.join(REPO, 'data', 'demo');

export interface RealStack {
  python: string;
  model: string;
  vae: string;
  /** the variables every real-stack child gets on top of the inherited ones */
  env: Record<string, string>;
}

let stack: Promise<RealStack> | undefined;

/** The CPU environment and the tiny SDXL; made on first use (about 1–2 min), then reused. */
export function realStack(): Promise<RealStack> {
  stack ??= (async () => {
    const experiment = await loadExperiment(DEMO_EXPERIMENT);
    const hubCache = hubCacheDir(process.env);
    const { python } = await prepareMachine({ experiment, hubCache, env: process.env });
    return {
      python,
      model: snapshotPath(hubCache, experiment.config.base.model),
      vae: snapshotPath(hubCache, experiment.config.base.vae),
      env: { OMP_NUM_THREADS: '1', HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
    };
  })();
  return stack;
}

export interface DemoWorkspace {
  root: string;
  experiment: string;
  store: string;
  reports: string;
  dataset: string;
}

/**
 * A private copy of the demo experiment and its dataset in a temp folder, with `edit` applied to the YAML
 * text (e.g. fewer variants); python.requirements points back at the project's file, so the same cached
 * environment serves it.
 */
export async function demoWorkspace(edit: (yaml: string) => string = (y) => y): Promise<DemoWorkspace> {
  const root = await tempDir('harness-real-');
  await mkdir(path.join(root, 'experiments'), { recursive: true });
  await cp(DEMO_DATA, path.join(root, 'data', 'demo'), { recursive: true });
  const yaml = (await readFile(DEMO_EXPERIMENT, 'utf8')).replace('../python/requirements-cpu.txt', path.join(REPO, 'python', 'requirements-cpu.txt'));
  const experiment = path.join(root, 'experiments', 'demo.yaml');
  await writeFile(experiment, edit(yaml));
  return { root, experiment, store: path.join(root, 'runs'), reports: path.join(root, 'reports'), dataset: path.join(root, 'data', 'demo') };
}
