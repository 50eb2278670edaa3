// The one home of the face/body models: @vladmandic/human on the tfjs wasm backend, loaded from the
// package's own files (never the network), once per process (or worker thread).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** Human's `exports` map sends a bare import to the tfjs-node build, which cannot install offline. */
function packageDir(name: string): string {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = path.join(base, name);
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`package ${name} not found: run npm ci`);
}

export interface HumanFace {
  score: number;
  boxScore: number;
  faceScore: number;
  box: [number, number, number, number];
  mesh: [number, number, number][];
  embedding?: number[];
  rotation?: { angle: { roll: number; yaw: number; pitch: number } } | null;
}
export interface HumanKeypoint {
  part: string;
  position: [number, number] | [number, number, number];
  score: number;
}
export interface HumanBody {
  score: number;
  keypoints: HumanKeypoint[];
}
export interface HumanResult {
  face: HumanFace[];
  body: HumanBody[];
  error?: string | null;
}

// Only the surface of Human and its tfjs this module uses; the package's own types drag in DOM types.
interface Tf {
  tensor3d(values: Uint8Array, shape: [number, number, number], dtype: 'int32'): { dispose(): void };
  io: { registerLoadRouter(router: (url: string | string[]) => unknown): void };
  getBackend(): string;
  engine(): { memory(): { numTensors: number } };
}
export interface HumanInstance {
  tf: Tf;
  version: string;
  config: Record<string, unknown>;
  load(): Promise<void>;
  detect(input: unknown, config?: Record<string, unknown>): Promise<HumanResult>;
}

export const HUMAN_MODELS = { face: 'blazeface + facemesh', embedding: 'faceres', body: 'movenet-lightning' } as const;

export function humanConfig(modelDir: string, wasmDir: string): Record<string, unknown> {
  return {
    backend: 'wasm',
    modelBasePath: pathToFileURL(modelDir).href + '/',
    wasmPath: pathToFileURL(wasmDir).href.replace(/\/?$/, '/'),
    debug: false,
    async: false,
    warmup: 'none',
    // every image is independent: no caching or frame skipping between calls (determinism)
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: true, maxDetected: 3, minConfidence: 0.3, skipFrames: 0, skipTime: 0, return: false },
      mesh: { enabled: true },
      attention: { enabled: false },
      iris: { enabled: false },
      emotion: { enabled: false },
      description: { enabled: true, skipFrames: 0, skipTime: 0 },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    // loaded by Human, then run by body.ts (loadHuman turns Human's own body step off: it smooths keypoints across images)
    body: { enabled: true, modelPath: 'movenet-lightning.json', maxDetected: 1, minConfidence: 0.1, skipFrames: 0, skipTime: 0 },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
  };
}

/** tfjs without tfjs-node has no file:// handler: read model.json and concatenate its weight shards. */
function fileRouter(url: string | string[]) {
  const href = Array.isArray(url) ? url[0] : url;
  if (typeof href !== 'string' || !href.startsWith('file://')) return null;
  const file = fileURLToPath(href);
  return {
    async load() {
      const json = JSON.parse(await readFile(file, 'utf8')) as {
        modelTopology: unknown;
        format?: string;
        generatedBy?: string;
        convertedBy?: string;
        signature?: unknown;
        userDefinedMetadata?: unknown;
        weightsManifest: { paths: string[]; weights: unknown[] }[];
      };
      const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
      const shards = await Promise.all(
        json.weightsManifest.flatMap((group) => group.paths).map((p) => readFile(path.join(path.dirname(file), p))),
      );
      const all = Buffer.concat(shards);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs,
        weightData,
      };
    },
  };
}

let loaded: Promise<HumanInstance> | undefined;

/** Loads Human and its models once per process (or worker thread); later calls share it. */
export function loadHuman(): Promise<HumanInstance> {
  loaded ??= (async () => {
    const humanDir = packageDir('@vladmandic/human');
    const wasmDir = path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
    const lib = require(path.join(humanDir, 'dist', 'human.node-wasm.js')) as {
      Human: new (config: Record<string, unknown>) => HumanInstance;
    };
    const human = new lib.Human(humanConfig(path.join(humanDir, 'models'), wasmDir));
    human.tf.io.registerLoadRouter(fileRouter);
    await human.load();
    (human.config as { body: { enabled: boolean } }).body.enabled = false;
    return human;
  })();
  return loaded;
}

export function humanVersion(): string {
  return (require(path.join(packageDir('@vladmandic/human'), 'package.json')) as { version: string }).version;
}
