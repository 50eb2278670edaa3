// Draws a build's stale contact sheets in a worker thread: the pixel work and its garbage (hundreds of MB of
// short-lived buffers) stay off the thread that holds the whole report model, where every collection would
// walk that model, and the sheets are drawn while the main thread renders the charts.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { contactSheet, ThumbnailCache, type SheetInput, type ThumbnailStats } from './contact-sheet.ts';
import pMap from 'p-map';

export interface SheetWork {
  /** absolute path of the PNG to write */
  file: string;
  input: SheetInput;
}

interface WorkerInput {
  cacheDir: string;
  sheets: SheetWork[];
  cell: number;
}

type WorkerReply = { ok: true; stats: ThumbnailStats } | { ok: false; message: string; stack?: string };

/** Draws and writes every sheet (two at a time: one PNG encode per core), then prunes the thumbnail cache. */
export async function drawSheets(cacheDir: string, sheets: SheetWork[], cell: number): Promise<ThumbnailStats> {
  const cache = new ThumbnailCache(cacheDir);
  cache.plan(sheets.flatMap((sheet) => sheet.input.rows.flatMap((row) => row.cells.filter((c) => c !== null))), cell);
  await pMap(
    sheets,
    async (sheet) => {
      const png = await contactSheet(sheet.input, cache);
      await mkdir(path.dirname(sheet.file), { recursive: true });
      await writeFile(sheet.file, png);
    },
    { concurrency: 2 },
  );
  await cache.prune();
  return { ...cache.stats };
}

/** drawSheets in a worker thread. */
export function drawSheetsInWorker(cacheDir: string, sheets: SheetWork[], cell: number): Promise<ThumbnailStats> {
  const entry = fileURLToPath(new URL('./sheet-worker-entry.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    const worker = new Worker(entry, { workerData: { cacheDir, sheets, cell } satisfies WorkerInput });
    let settled = false;
    worker.once('message', (reply: WorkerReply) => {
      settled = true;
      if (reply.ok) resolve(reply.stats);
      else reject(Object.assign(new Error(reply.message), reply.stack ? { stack: reply.stack } : {}));
      void worker.terminate();
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the contact-sheet worker exited with code ${code}`));
    });
  });
}

if (parentPort && (workerData as Partial<WorkerInput> | undefined)?.sheets) {
  const input = workerData as WorkerInput;
  const port = parentPort;
  drawSheets(input.cacheDir, input.sheets, input.cell).then(
    (stats) => port.postMessage({ ok: true, stats } satisfies WorkerReply),
    (error: unknown) => port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) } satisfies WorkerReply),
  );
}
