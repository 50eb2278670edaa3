// Ledger → W&B: upsert the run, upload the files the next rows need, stream the rows from the
// acknowledged offset, the summary, then `complete`. The state is saved after every acknowledgement,
// so an interruption at any point resends at most one batch, which file_stream offsets make harmless.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { hashObject } from '../../util/hash.ts';
import { summaryFrom, wandbConfig } from '../derive.ts';
import { summaryHash, type WandbSyncState } from '../state.ts';
import type { LedgerLine, TrackedFile, TrackingConfig } from '../types.ts';
import type { RunRef, WandbClient } from './client.ts';
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
}

export interface ShipResult {
  historySent: number;
  filesUploaded: number;
  summarySent: boolean;
  completed: boolean;
}

const DEFAULT_BATCH = { lines: 500, bytes: 2_000_000 };

export async function ship(input: ShipInput): Promise<ShipResult> {
  const { client, ledger, state, send } = input;
  const result: ShipResult = { historySent: 0, filesUploaded: 0, summarySent: false, completed: false };
  const summary = summaryFrom(ledger);
  const currentSummary = summaryHash(ledger);
  const moreData = state.historyAcked < ledger.length || (ledger.length > 0 && state.summaryAcked !== currentSummary);

  // New data after `complete`: upserting again is how W&B resumes a finished run.
  if (state.completed && moreData) {
    state.completed = null;
    state.upserted = null;
  }
  const upsertKey = hashObject({ run: state.run, config: input.config });
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
        config: wandbConfig(input.config),
        program: 'harness',
      },
      send,
    );
    state.entity = ref.entity;
    state.upserted = upsertKey;
    await input.save();
  }
  const run: RunRef = { entity: state.entity!, project: state.run.project, name: state.run.name };
  const batchLimits = input.batch ?? DEFAULT_BATCH;

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
    result.filesUploaded += await uploadFiles(input, run, ledger.slice(start, start + batch.length));
    const last = start + batch.length === ledger.length;
    const files: Record<string, { offset: number; content: string[] }> = { [HISTORY_FILE]: { offset: start, content: batch } };
    if (last && state.summaryAcked !== currentSummary) files[SUMMARY_FILE] = { offset: 0, content: [JSON.stringify(summary)] };
    await client.fileStream(run, { files }, send);
    state.historyAcked = start + batch.length;
    result.historySent += batch.length;
    if (files[SUMMARY_FILE]) {
      state.summaryAcked = currentSummary;
      result.summarySent = true;
    }
    await input.save();
  }
  if (ledger.length > 0 && state.summaryAcked !== currentSummary) {
    await client.fileStream(run, { files: { [SUMMARY_FILE]: { offset: 0, content: [JSON.stringify(summary)] } } }, send);
    state.summaryAcked = currentSummary;
    result.summarySent = true;
    await input.save();
  }
  if (input.complete && state.finished && state.completed?.exitCode !== state.finished.exitCode) {
    await client.fileStream(run, { complete: true, exitcode: state.finished.exitCode }, send);
    state.completed = { exitCode: state.finished.exitCode, at: new Date().toISOString() };
    result.completed = true;
    await input.save();
  }
  return result;
}

/** Uploads (CreateRunFiles + PUT) the files these rows point at that the server does not have yet. */
async function uploadFiles(input: ShipInput, run: RunRef, lines: LedgerLine[]): Promise<number> {
  const { client, state, send } = input;
  const uploaded = new Set(state.uploaded);
  const needed = new Map<string, TrackedFile>();
  for (const file of lines.flatMap((line) => line.files ?? [])) if (!uploaded.has(file.path)) needed.set(file.path, file);
  if (needed.size === 0) return 0;
  const { urls, headers } = await client.createRunFiles(run, [...needed.keys()], send);
  let count = 0;
  for (const file of needed.values()) {
    const url = urls.get(file.path);
    if (!url) throw new Error(`CreateRunFiles gave no upload URL for ${file.path}`);
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(input.runDir, file.source));
    } catch (error) {
      // The image left the store after it was mirrored: nothing to upload, and waiting will not bring it back.
      state.lastError = { message: `${file.source}: ${(error as Error).message}; its history row points at nothing`, at: new Date().toISOString() };
      state.uploaded.push(file.path);
      continue;
    }
    await client.upload(url, bytes, headers, file.path, send);
    state.uploaded.push(file.path);
    count += 1;
    await input.save();
  }
  return count;
}
