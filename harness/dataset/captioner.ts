// Runs python/caption.py: one JSON spec file in, JSON lines out. Python loads BLIP and captions what the
// spec lists; every choice (model, revision, generation settings, dtypes, files) is made here.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunFailedError, UsageError } from '../errors.ts';
import { runLineChild } from '../runner/lines.ts';
import { BLIP_GENERATION } from './caption-plan.ts';

export const CAPTION_PROTOCOL_VERSION = 1;
export const REQUIREMENTS_FILE = 'python/requirements-cuda.txt';
const DEFAULT_SCRIPT = fileURLToPath(new URL('../../python/caption.py', import.meta.url));

export interface CaptionerSpec {
  schemaVersion: number;
  model: { id: string; revision: string };
  /** "auto" = cuda when torch sees a GPU, else cpu */
  device: 'auto' | 'cuda' | 'cpu';
  /** the dtype for each device: fp16 on CUDA (as the reference Colab), fp32 on CPU (no fast fp16 there) */
  dtypes: { cuda: 'float16'; cpu: 'float32' };
  generation: typeof BLIP_GENERATION;
  images: { name: string; path: string }[];
}

export interface StartEvent {
  v: number;
  type: 'start';
  model: string;
  revision: string;
  device: string;
  dtype: string;
  versions: Record<string, string>;
}

type CaptionerEvent =
  | StartEvent
  | { type: 'caption'; name: string; text: string }
  | { type: 'error'; kind: string; message: string; package?: string; name?: string }
  | { type: 'end'; count: number };

export interface CaptionerResult {
  python: string;
  script: string;
  start: StartEvent;
  captions: Map<string, { text: string; device: string; dtype: string }>;
}

export interface CaptionerOptions {
  spec: CaptionerSpec;
  /** --python, else $HARNESS_PYTHON, else python3 */
  python?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  onCaption?: (name: string, text: string, done: number, total: number) => void;
}

export function resolvePython(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env.HARNESS_PYTHON || 'python3');
}

/** $HARNESS_CAPTION_SCRIPT exists for tests (a fixture captioner speaking the same protocol). */
export function resolveCaptionScript(env: NodeJS.ProcessEnv): string {
  return env.HARNESS_CAPTION_SCRIPT || DEFAULT_SCRIPT;
}

export function installHint(python: string): string {
  return `install the captioning packages into that Python: ${python} -m pip install -r ${REQUIREMENTS_FILE} (or pick another interpreter with --python)`;
}

export async function runCaptioner(options: CaptionerOptions): Promise<CaptionerResult> {
  const python = resolvePython(options.python, options.env);
  const script = resolveCaptionScript(options.env);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'harness-caption-'));
  const specFile = path.join(dir, 'caption-spec.json');
  try {
    await writeFile(specFile, `${JSON.stringify(options.spec, null, 2)}\n`);
    return await talk(python, script, specFile, options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function talk(python: string, script: string, specFile: string, options: CaptionerOptions): Promise<CaptionerResult> {
  const captions: CaptionerResult['captions'] = new Map();
  const total = options.spec.images.length;
  let start: StartEvent | undefined;
  let failure: Extract<CaptionerEvent, { type: 'error' }> | undefined;
  let ended = false;
  const stray: string[] = [];
  // Not its own process group: Ctrl-C at the terminal reaches the captioner directly.
  const result = await runLineChild({
    command: { file: python, args: [script, specFile], cwd: options.cwd, env: {} },
    baseEnv: options.env,
    ownGroup: false,
    stderr: 'capture',
    onLine: (line) => {
      const event = parseEvent(line);
      if (!event) {
        if (line.trim()) stray.push(line);
      } else if (event.type === 'start') start = event;
      else if (event.type === 'caption' && start) {
        captions.set(event.name, { text: event.text, device: start.device, dtype: start.dtype });
        options.onCaption?.(event.name, event.text, captions.size, total);
      } else if (event.type === 'error') failure = event;
      else if (event.type === 'end') ended = true;
    },
  });
  if (result.notFound) {
    throw new UsageError(`Python not found: "${python}"`, `install Python 3.10+ and ${installHint(python).replace(/^install /, '')}`);
  }
  const tail = tailOf(result.stderr, stray);
  if (failure?.kind === 'missing_package') {
    throw new UsageError(`Python package missing for captioning in ${python}: ${failure.package ?? failure.message}`, installHint(python));
  }
  if (failure) throw new RunFailedError(`captioner failed (${failure.kind}${failure.name ? `, ${failure.name}` : ''}): ${failure.message}${tail}`);
  if (result.exitCode !== 0 || !ended || !start) {
    const why = result.exitCode !== 0 ? `exited with ${result.exitCode ?? result.signal}` : !start ? 'never said it started' : 'stopped before its end event';
    throw new RunFailedError(`captioner ${why} (${python} ${script})${tail}`);
  }
  const missing = options.spec.images.filter((image) => !captions.has(image.name)).map((image) => image.name);
  if (missing.length > 0) throw new RunFailedError(`captioner gave no caption for ${missing.join(', ')}${tail}`);
  return { python, script, start, captions };
}

function parseEvent(line: string): CaptionerEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as CaptionerEvent;
    return typeof value === 'object' && value !== null && typeof value.type === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function tailOf(stderr: string, stray: string[]): string {
  const lines = [...stray, ...stderr.split('\n')].filter((line) => line.trim() !== '').slice(-15);
  return lines.length ? `\n--- last output ---\n${lines.join('\n')}` : '';
}
