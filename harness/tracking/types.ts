// What tracking mirrors: W&B-shaped history rows derived from the run store, and the sinks they go to.
import type { StoredEvent } from '../train/events.ts';

/** An image logged in a history row, in W&B's `image-file` shape, plus where its bytes are in the run folder. */
export interface ImageFileValue {
  _type: 'image-file';
  /** path of the uploaded file on the tracker: `media/images/<key>_<step>_<sha20>.png` */
  path: string;
  sha256: string;
  size: number;
  width: number;
  height: number;
  format: 'png';
  caption: string;
}

export type HistoryValue = number | string | boolean | ImageFileValue;

/** One history row: `_step` (the training step, strictly increasing), `_runtime`, `_timestamp` and metric keys. */
export interface HistoryRow {
  _step: number;
  _runtime: number;
  _timestamp: number;
  [key: string]: HistoryValue;
}

/** A file a row refers to: uploaded under `path`, read from `source` (relative to the run folder). */
export interface TrackedFile {
  path: string;
  source: string;
  sha256: string;
  size: number;
}

/**
 * One line of the run's tracking ledger (`tracking/history.jsonl`): the row exactly as every tracker
 * receives it, what in the store it came from, and the files it needs. Line N of the ledger is line N
 * of W&B's `wandb-history.jsonl`, so file_stream offsets are ledger line numbers.
 */
export interface LedgerLine {
  /** `m:<step>` (metric event), `s:<set>:<seed>` (samples), `c:<set>` (scores) */
  src: string;
  row: HistoryRow;
  files?: TrackedFile[];
}

/** Config as trackers take it: flat keys, each a JSON value. */
export type TrackingConfig = Record<string, unknown>;

/** Who the run is on the tracker: fixed at the first mirror so `harness sync` later uses the same run. */
export interface TrackedRunIdentity {
  name: string;
  displayName: string;
  project: string;
  entity: string | null;
  group: string;
  jobType: string;
  tags: string[];
  sweep: string | null;
}

/**
 * The sink interface (after Lightning's loggers and MLflow's stores): config, a batch of history rows,
 * the summary, finish. Images travel inside rows as `image-file` values with their TrackedFile.
 * A sink never throws into the run: remote sinks record failures and keep the data pending.
 */
export interface TrackingSink {
  config(config: TrackingConfig): Promise<void>;
  log(lines: LedgerLine[]): Promise<void>;
  summary(summary: Record<string, unknown>): Promise<void>;
  finish(exitCode: number): Promise<void>;
}

/** The sink that does nothing (tracking disabled). */
export const NULL_SINK: TrackingSink = {
  async config() {},
  async log() {},
  async summary() {},
  async finish() {},
};

/** A line of events.jsonl as python/train.py's tap appends it (DESIGN.md §5); other types pass through. */
export type RunEvent = StoredEvent;
