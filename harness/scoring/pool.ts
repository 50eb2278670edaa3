// Feature extraction on all cores: worker threads, each loading the models once, fed one file at a time.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { emptyStageTimes, type PreviewRequest, type StageTimes } from './extract.ts';
import { failedFeatures, type ImageFeatures } from './features.ts';
import type { WorkerReply, WorkerRequest } from './worker.ts';

export interface Extraction {
  features: ImageFeatures;
  times: StageTimes;
  /** the preview, when one was asked for and could be made */
  preview?: Uint8Array | null;
}

interface Job {
  id: number;
  file: string;
  given?: { bytes: Uint8Array; sha256: string };
  preview?: PreviewRequest;
  resolve(value: Extraction): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
}

export interface ExtractorPool {
  /** `given`: the file's bytes and hash when already read; the bytes move to the worker (not copied) */
  extract(file: string, given?: { bytes: Uint8Array; sha256: string }, preview?: PreviewRequest): Promise<Extraction>;
  /** model load time of each worker, ms (once they are ready) */
  loadTimes(): Promise<number[]>;
  close(): Promise<void>;
}

/** What one worker holds: Human's models and the person mask's (loaded once per worker) and an image in flight. */
export const WORKER_MEMORY_MB = 320;

export interface MachineShare {
  cores: number;
  /** memory free for new allocations (MemAvailable, within a cgroup limit), MB */
  freeMb: number;
}

export function machineShare(): MachineShare {
  const free = typeof process.availableMemory === 'function' ? process.availableMemory() : os.freemem();
  return { cores: os.availableParallelism(), freeMb: free / 2 ** 20 };
}

/** One worker per core, as many as the free memory holds (at least one): a 16-core box with 2 GB free gets 6. */
export function defaultWorkers(machine: MachineShare = machineShare()): number {
  return Math.max(1, Math.min(machine.cores, Math.floor(machine.freeMb / WORKER_MEMORY_MB)));
}

export function createPool(size = defaultWorkers()): ExtractorPool {
  const entry = new URL('./worker-entry.mjs', import.meta.url);
  const queue: Job[] = [];
  const loads: Promise<number>[] = [];
  const slots: Slot[] = [];
  let nextId = 0;
  let closed = false;
  let fatal: Error | null = null;

  const pump = () => {
    for (const slot of slots) {
      if (!slot.ready || slot.job) continue;
      const job = queue.shift();
      if (!job) return;
      slot.job = job;
      const { bytes, sha256 } = job.given ?? {};
      const transfer = bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer as ArrayBuffer] : [];
      slot.worker.postMessage({ id: job.id, file: job.file, ...(bytes ? { bytes, sha256 } : {}), ...(job.preview ? { preview: job.preview } : {}) } satisfies WorkerRequest, transfer);
    }
  };

  const fail = (error: Error) => {
    fatal = error;
    for (const job of queue.splice(0)) job.reject(error);
    for (const slot of slots) {
      slot.job?.reject(error);
      slot.job = null;
    }
  };

  for (let i = 0; i < size; i++) {
    const worker = new Worker(entry);
    const slot: Slot = { worker, ready: false, job: null };
    slots.push(slot);
    loads.push(
      new Promise<number>((resolve, reject) => {
        worker.on('message', (reply: WorkerReply) => {
          if (reply.type === 'ready') {
            slot.ready = true;
            resolve(reply.loadMs);
          } else {
            const job = slot.job;
            slot.job = null;
            if (job && reply.type === 'result') job.resolve({ features: reply.features, times: reply.times, ...(reply.preview === undefined ? {} : { preview: reply.preview }) });
            // one image failing (e.g. removed mid-run) is that image's result; only a dead worker fails the batch
            else if (job && reply.type === 'error') {
              job.resolve({
                features: failedFeatures(`cannot score image: ${reply.message}`),
                times: emptyStageTimes(),
              });
            }
          }
          pump();
        });
        worker.on('error', (error) => {
          reject(error);
          fail(new Error(`scoring worker crashed: ${error.message}`, { cause: error }));
        });
        worker.on('exit', (code) => {
          if (!closed && code !== 0) fail(new Error(`scoring worker exited with code ${code}`));
        });
      }),
    );
  }
  // a load failure surfaces through the jobs it fails; keep it from being an unhandled rejection
  for (const load of loads) load.catch(() => {});

  return {
    extract(file, given, preview) {
      if (fatal) return Promise.reject(fatal);
      if (closed) return Promise.reject(new Error('the scoring pool is closed'));
      return new Promise<Extraction>((resolve, reject) => {
        queue.push({ id: nextId++, file, ...(given ? { given } : {}), ...(preview ? { preview } : {}), resolve, reject });
        pump();
      });
    },
    loadTimes: () => Promise.all(loads),
    async close() {
      closed = true;
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
