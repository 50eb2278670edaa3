// Which runs a store holds for an experiment (folders named by run id; `_control`, `_checks`, … are not runs).
import { readdir } from 'node:fs/promises';
import { readJson } from './atomic.ts';
import { experimentDir, runLayout } from './layout.ts';

export async function storedRunIds(storeRoot: string, experiment: string): Promise<string[]> {
  try {
    const entries = await readdir(experimentDir(storeRoot, experiment), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('_') && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** What a run folder says about how the run was made: its spec.json (the trainer's script) and status.json. */
export interface StoredRun {
  id: string;
  variant: string | null;
  /** the script it was trained with (spec.json's trainer, else its provenance); null before an attempt started */
  script: { sha256: string; path: string | null; pinned: boolean | null } | null;
  /** the rest of the recorded run spec, to say how it differs from a planned one */
  spec: StoredRunSpec | null;
  /** when its status last changed ('' without a status.json) */
  updatedAt: string;
}

export interface StoredRunSpec {
  settings?: Record<string, unknown>;
  provenance?: { scriptSha256?: string; datasetHash?: string | null; model?: { commit?: string | null }; vae?: { commit?: string | null }; instancePrompt?: string };
}

interface SpecFile extends StoredRunSpec {
  variant?: string;
  trainer?: { script?: string; scriptSha256?: string; scriptPinned?: boolean };
}

export async function storedRuns(storeRoot: string, experiment: string): Promise<StoredRun[]> {
  const runs: StoredRun[] = [];
  for (const id of await storedRunIds(storeRoot, experiment)) {
    const layout = runLayout(storeRoot, experiment, id);
    const spec = await readJson<SpecFile>(layout.spec).catch(() => undefined);
    const status = await readJson<{ variant?: string; updatedAt?: string }>(layout.status).catch(() => undefined);
    const sha256 = spec?.trainer?.scriptSha256 ?? spec?.provenance?.scriptSha256;
    runs.push({
      id,
      variant: status?.variant ?? spec?.variant ?? null,
      script: sha256 ? { sha256, path: spec?.trainer?.script ?? null, pinned: spec?.trainer?.scriptPinned ?? null } : null,
      spec: spec ?? null,
      updatedAt: status?.updatedAt ?? '',
    });
  }
  return runs;
}
