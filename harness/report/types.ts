// What a report is built from: the run store as read (load.ts), before any arithmetic (analyze.ts).
import type { CheckReport } from '../regression/types.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import type { ScoreReport } from '../scoring/types.ts';
import type { RunStatus } from '../store/status.ts';

export type { StoredEvent } from '../train/events.ts';
import type { StoredEvent } from '../train/events.ts';

/** spec.json as the planner writes it, plus whatever the trainer adds; every field optional on read. */
export interface StoredSpec {
  id?: string;
  variant?: string;
  overrides?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  provenance?: {
    diffusersRelease?: string;
    diffusersCommit?: string;
    script?: string;
    scriptSha256?: string;
    scriptPinned?: boolean;
    scriptFile?: string | null;
    pinnedSha256?: string;
    model?: { id?: string; commit?: string | null };
    vae?: { id?: string; commit?: string | null };
    datasetHash?: string | null;
    instancePrompt?: string;
  };
  argv?: string[];
  /** what the trainer was started with (harness/train/records.ts) */
  trainer?: { script?: string; scriptSha256?: string; scriptPinned?: boolean };
  [key: string]: unknown;
}

export interface LoadedSet {
  manifest: SampleSetManifest;
  /** absolute folder of the set */
  dir: string;
  scores: ScoreReport | null;
}

export interface LoadedRun {
  id: string;
  variant: string;
  /** in the experiment's current plan (false: only found in the store) */
  planned: boolean;
  dir: string;
  spec: StoredSpec | null;
  status: RunStatus | null;
  env: Record<string, unknown> | null;
  command: unknown;
  events: StoredEvent[];
  /** status.logTail, else the last lines of train.log; null when neither exists */
  logTail: string[] | null;
  /** every complete sample set of the run (set.json present), in set-id order */
  sets: LoadedSet[];
}

export interface ReportSettings {
  baselineVariant: string;
  /** marker weights of the ranking (scoring.weights) */
  weights: Record<string, number>;
  /** scene ids in the experiment's order; sets' own order when absent */
  promptOrder: string[] | null;
}

export interface LoadedStore {
  experiment: string;
  storeRoot: string;
  runs: LoadedRun[];
  control: LoadedSet[];
  checks: CheckReport[];
  settings: ReportSettings;
  /** built with the experiment's plan: runs outside it are marked */
  hasPlan: boolean;
  /** problems met while reading (a corrupt file): reported, never fatal */
  warnings: string[];
}
