// A pool worker: loads the models once, then extracts features for each file it is sent.
import { parentPort } from 'node:worker_threads';
import { setImageConcurrency } from '../image/index.ts';
import { extractFeatures, type PreviewRequest } from './extract.ts';
import { loadModels } from './models.ts';

export interface WorkerRequest {
  id: number;
  file: string;
  /** the file's content and hash, when the main thread already read it */
  bytes?: Uint8Array;
  sha256?: string;
  /** also make the image's preview from the decoded pixels */
  preview?: PreviewRequest;
}
export type WorkerReply =
  | { type: 'ready'; loadMs: number }
  | {
      type: 'result';
      id: number;
      features: import('./features.ts').ImageFeatures;
      times: import('./extract.ts').StageTimes;
      /** the preview's PNG bytes when asked for; null when the image could not be made into one */
      preview?: Uint8Array | null;
    }
  | { type: 'error'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('harness/scoring/worker.ts must run in a worker thread');

// the pool already runs one worker per core: libvips threads would only compete with them
setImageConcurrency(1);
const started = performance.now();
await loadModels();
port.postMessage({ type: 'ready', loadMs: performance.now() - started } satisfies WorkerReply);

port.on('message', (request: WorkerRequest) => {
  const given = request.bytes && request.sha256 ? { bytes: request.bytes, sha256: request.sha256 } : undefined;
  extractFeatures(request.file, given, request.preview).then(
    ({ features, times, preview }) => {
      const transfer = preview && preview.byteOffset === 0 && preview.byteLength === preview.buffer.byteLength ? [preview.buffer as ArrayBuffer] : [];
      port.postMessage({ type: 'result', id: request.id, features, times, ...(preview === undefined ? {} : { preview }) } satisfies WorkerReply, transfer);
    },
    (error: unknown) => port.postMessage({ type: 'error', id: request.id, message: (error as Error).message ?? String(error) } satisfies WorkerReply),
  );
});
