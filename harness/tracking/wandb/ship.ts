// Ledger → W&B: upsert the run (config with its metric definitions), upload the files the next rows need
// and the run files (metadata, requirements; at the end config.yaml, output.log, wandb-summary.json) in
// parallel, stream the rows from the acknowledged offset with the summary and the `uploaded` list, then
// `complete` (in the last batch, as the official client does). The state is saved after every
// acknowledgement, so an interruption at any point resends at most one batch, which file_stream offsets
// make harmless.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { hashObject, sha256 } from '../../util/hash.ts';
import { metricDefinitions, summaryFrom, wandbConfig } from '../derive.ts';
import { readCommand, readEnvInfo, readRunStatus, readTrainLog, runEndSeconds } from '../local.ts';
import { CONFIG_FILE, configYaml, METADATA_FILE, metadataFrom, OUTPUT_FILE, REQUIREMENTS_FILE, requirementsFrom, SUMMARY_UPLOAD_FILE } from '../runfiles.ts';
import type { WandbSyncState } from '../state.ts';
import type { LedgerLine, TrackingConfig } from '../types.ts';
import type { FileStreamBody, RunRef, WandbClient } from './client.ts';
import type { SendOptions } from './http.ts';

export const HISTORY_FILE = 'wandb-history.jsonl';
export const SUMMARY_FILE = 'wandb-summary.json';

export interface ShipInput {
  runDir: string;
  client: WandbClient;
  ledger: LedgerLine[];
  config: TrackingConfig;
  state: WandbSyncState;
  save: () => Promise<void>;
  send: SendOptions;
  /** send `complete` once everything else is acknowledged and the run has finished */
  complete: boolean;
  batch?: { lines: number; bytes: number };
  /** uploads at once (bounded: a big sample set must not open hundreds of connections) */
  concurrency?: number;
  /** called after every successful UpsertBucket, with where the run is */
  onUpserted?: (run: RunRef) => void;
}

export interface ShipResult {
  historySent: number;
  filesUploaded: number;
  summarySent: boolean;
  completed: boolean;
}

const DEFAULT_BATCH = { lines: 500, bytes: 2_000_000 };
const DEFAULT_CONCURRENCY = 8;

/** A file to upload: a ledger media file (read from the store) or a run file built in memory. */
interface Upload {
  name: string;
  sha256: string;
  source?: string;
  bytes?: Buffer;
  kind: 'media' | 'run';
}

export async function ship(input: ShipInput): Promise<ShipResult> {
  const { client, ledger, state, send } = input;
  const result: ShipResult = { historySent: 0, filesUploaded: 0, summarySent: false, completed: false };
  const save = serial(input.save);
  state.runFiles ??= {};
  state.unannounced ??= [];
  const endT = runEndSeconds(await readRunStatus(input.runDir));
  const summary = summaryFrom(ledger, endT);
  const currentSummary = hashObject(summary); // what state.ts summaryHash gives, from the summary already made
  const moreData = state.historyAcked < ledger.length || (ledger.length > 0 && state.summaryAcked !== currentSummary);

  // New data after `complete`: upserting again is how W&B resumes a finished run.
  if (state.completed && moreData) {
    state.completed = null;
    state.upserted = null;
  }
  const config = wandbConfig(input.config, metricDefinitions(ledger));
  const upsertKey = hashObject({ run: state.run, config });
  if (state.upserted !== upsertKey || !state.entity) {
    const ref = await client.upsertRun(
      {
        name: state.run.name,
        project: state.run.project,
        entity: state.run.entity,
        groupName: state.run.group,
        displayName: state.run.displayName,
        jobType: state.run.jobType,
        tags: state.run.tags,
        sweep: state.run.sweep,
        config,
        program: 'harness',
      },
      send,
    );
    state.entity = ref.entity;
    state.upserted = upsertKey;
    // an upsert makes a finished run live again on W&B: it needs its `complete` once more
    state.completed = null;
    await save();
    input.onUpserted?.(ref);
  }
  const run: RunRef = { entity: state.entity!, project: state.run.project, name: state.run.name };
  const completing = input.complete && state.finished !== null && state.completed?.exitCode !== state.finished.exitCode;
  let runFiles = await runFilesDue(input, config, summary, completing);
  const batchLimits = input.batch ?? DEFAULT_BATCH;

  // What W&B acknowledged with a file_stream request: the media it announced, the summary, the run's end.
  const delivered = async (body: FileStreamBody, announced: ReturnType<typeof announce>, withSummary: boolean): Promise<void> => {
    acknowledge(state, announced);
    if (withSummary) {
      state.summaryAcked = currentSummary;
      result.summarySent = true;
    }
    if (body.complete) {
      state.completed = { exitCode: state.finished!.exitCode, at: new Date().toISOString() };
      result.completed = true;
    }
    await save();
  };

  while (state.historyAcked < ledger.length) {
    const start = state.historyAcked;
    const batch: string[] = [];
    let bytes = 0;
    for (let i = start; i < ledger.length && batch.length < batchLimits.lines; i++) {
      const text = JSON.stringify(ledger[i]!.row);
      if (batch.length > 0 && bytes + text.length > batchLimits.bytes) break;
      batch.push(text);
      bytes += text.length;
    }
    result.filesUploaded += await uploadAll(input, run, [...mediaDue(state, ledger.slice(start, start + batch.length)), ...runFiles], save);
    runFiles = [];
    const last = start + batch.length === ledger.length;
    const body: FileStreamBody = { files: { [HISTORY_FILE]: { offset: start, content: batch } } };
    const withSummary = last && state.summaryAcked !== currentSummary;
    if (withSummary) body.files![SUMMARY_FILE] = { offset: 0, content: [JSON.stringify(summary)] };
    const announced = announce(state, body);
    if (last && completing) Object.assign(body, { complete: true, exitcode: state.finished!.exitCode });
    await client.fileStream(run, body, send);
    state.historyAcked = start + batch.length;
    result.historySent += batch.length;
    await delivered(body, announced, withSummary);
  }
  result.filesUploaded += await uploadAll(input, run, runFiles, save);
  const body: FileStreamBody = {};
  const withSummary = ledger.length > 0 && state.summaryAcked !== currentSummary;
  if (withSummary) body.files = { [SUMMARY_FILE]: { offset: 0, content: [JSON.stringify(summary)] } };
  const announced = announce(state, body);
  if (completing && !result.completed) Object.assign(body, { complete: true, exitcode: state.finished!.exitCode });
  if (Object.keys(body).length > 0) {
    await client.fileStream(run, body, send);
    await delivered(body, announced, withSummary);
  }
  return result;
}

/** Names uploaded since the last acknowledged `uploaded` list go into this request (self-managed servers need them). */
function announce(state: WandbSyncState, body: FileStreamBody): string[] {
  const names = [...new Set(state.unannounced ?? [])];
  if (names.length) body.uploaded = names;
  return names;
}

function acknowledge(state: WandbSyncState, names: string[]): void {
  const done = new Set(names);
  state.unannounced = (state.unannounced ?? []).filter((name) => !done.has(name));
}

/** Media files these rows point at that the server does not have yet. */
function mediaDue(state: WandbSyncState, lines: LedgerLine[]): Upload[] {
  const uploaded = new Set(state.uploaded);
  const due = new Map<string, Upload>();
  for (const file of lines.flatMap((line) => line.files ?? [])) {
    if (!uploaded.has(file.path)) due.set(file.path, { name: file.path, sha256: file.sha256, source: file.source, kind: 'media' });
  }
  return [...due.values()];
}

/**
 * Run files whose content the server does not have: metadata and requirements as soon as env.json
 * exists, and when the run completes its config.yaml, output.log (train.log) and wandb-summary.json.
 */
async function runFilesDue(input: ShipInput, config: Record<string, { value: unknown }>, summary: Record<string, unknown>, completing: boolean): Promise<Upload[]> {
  const { runDir, ledger, state } = input;
  const env = await readEnvInfo(runDir).catch(() => undefined);
  const first = ledger[0]?.row;
  const files = new Map<string, string | null>();
  const metadata = metadataFrom({ env, command: await readCommand(runDir), startedAt: first ? first._timestamp - first._runtime : null });
  files.set(METADATA_FILE, metadata ? `${JSON.stringify(metadata, null, 2)}\n` : null);
  files.set(REQUIREMENTS_FILE, requirementsFrom(env));
  if (completing) {
    files.set(CONFIG_FILE, configYaml(config));
    files.set(OUTPUT_FILE, await readTrainLog(runDir));
    files.set(SUMMARY_UPLOAD_FILE, JSON.stringify(summary));
  }
  const due: Upload[] = [];
  for (const [name, text] of files) {
    if (text === null) continue;
    const bytes = Buffer.from(text);
    const sha = sha256(bytes);
    if (state.runFiles?.[name] !== sha) due.push({ name, sha256: sha, bytes, kind: 'run' });
  }
  return due;
}

/**
 * CreateRunFiles for all of them, then the PUTs, at most `concurrency` at once. Every upload is tried
 * even when one fails (what succeeded is recorded); the first failure is thrown at the end.
 */
async function uploadAll(input: ShipInput, run: RunRef, files: Upload[], save: () => Promise<void>): Promise<number> {
  if (files.length === 0) return 0;
  const { client, state, send } = input;
  const { urls, headers } = await client.createRunFiles(run, files.map((f) => f.name), send);
  let count = 0;
  let failure: unknown;
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      try {
        const sent = await uploadOne(input, file, urls.get(file.name), headers);
        if (file.kind === 'media') state.uploaded.push(file.name);
        else state.runFiles![file.name] = file.sha256;
        if (sent) {
          count += 1;
          state.unannounced!.push(file.name);
        }
        await save();
      } catch (error) {
        failure ??= error;
        if (send.signal?.aborted) return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency ?? DEFAULT_CONCURRENCY, files.length) }, worker));
  if (failure !== undefined) throw failure;
  return count;
}

/** One PUT; false when a media file left the store after it was mirrored (nothing to upload, ever). */
async function uploadOne(input: ShipInput, file: Upload, url: string | undefined, headers: Record<string, string>): Promise<boolean> {
  if (!url) throw new Error(`${input.client.host} gave no upload URL for ${file.name}`);
  let bytes = file.bytes;
  if (!bytes) {
    try {
      bytes = await readFile(path.join(input.runDir, file.source!));
    } catch (error) {
      input.state.lastError = { message: `${file.source}: ${(error as Error).message}; its history row points at nothing`, at: new Date().toISOString() };
      return false;
    }
  }
  await input.client.upload(url, bytes, headers, file.name, input.send);
  return true;
}

/** State writes one at a time, in order, however many uploads finish at once. */
function serial(save: () => Promise<void>): () => Promise<void> {
  let chain = Promise.resolve();
  return () => {
    chain = chain.then(save, save);
    return chain;
  };
}
