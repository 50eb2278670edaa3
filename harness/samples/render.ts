// Renders one sample set, or finds it already rendered. A set is done only when set.json exists and every
// image it lists decodes and matches its sidecar; a crash leaves finished images that the next call keeps.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InterruptedError } from '../errors.ts';
import { readJson, writeJsonAtomic } from '../store/atomic.ts';
import { sampleSetFiles, SCHEMA_VERSION } from '../store/layout.ts';
import { tryLock, type LockInfo, type RunLock } from '../store/lock.ts';
import { runSamplerProcess } from './child.ts';
import { classifyFailure, failureHint, logTail, SamplingFailedError } from './failure.ts';
import type { SamplerEnv, SamplerEvent, SamplerJobSpec } from './protocol.ts';
import { samplerJob, setId as computeSetId, type ModelRef, type RenderSettings } from './spec.ts';
import { checkSetImages, discardImage } from './verify.ts';
import type { SampleSetManifest, SamplingSpec, WeightsRef } from './types.ts';

export const DEFAULT_SAMPLER_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../python/sample.py');

/** The sampler script: python/sample.py, or a stand-in named by $HARNESS_SAMPLER_SCRIPT (tests, fixtures). */
export function samplerScript(env: NodeJS.ProcessEnv): string {
  return env.HARNESS_SAMPLER_SCRIPT || DEFAULT_SAMPLER_SCRIPT;
}

export interface RenderContext {
  experiment: string;
  model: ModelRef & { path: string };
  vae: ModelRef & { path: string };
  render: RenderSettings;
  python: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  onProgress?: (progress: SampleProgress) => void;
  signal?: AbortSignal;
  /** poll interval while another process renders a shared set */
  lockPollMs?: number;
}

export interface SetTarget {
  runId: string | null;
  weights: WeightsRef;
  spec: SamplingSpec;
  /** the folder of a set, given its id */
  dirFor: (setId: string) => string;
  /** shared sets (the control) are locked so two runs never render them twice */
  lockFile?: string;
}

export type SetStatus = 'rendered' | 'resumed' | 'reused';

export interface SetOutcome {
  setId: string;
  dir: string;
  runId: string | null;
  weights: WeightsRef;
  status: SetStatus;
  /** images rendered by this call */
  rendered: number;
  /** images already there and verified */
  kept: number;
  /** images found bad (corrupt, mismatched) and rendered again */
  redone: { file: string; why: string }[];
  images: number;
}

export type SampleProgress =
  | { type: 'set-start'; setId: string; runId: string | null; weights: WeightsRef['kind']; total: number; todo: number }
  | { type: 'waiting'; setId: string; heldBy: LockInfo }
  | { type: 'image'; setId: string; file: string; index: number; total: number; skipped: boolean; seconds?: number }
  | { type: 'redo'; setId: string; file: string; why: string }
  | { type: 'set-done'; outcome: SetOutcome };

export function targetSetId(ctx: Pick<RenderContext, 'model' | 'vae' | 'render'>, target: Pick<SetTarget, 'weights' | 'spec'>): string {
  return computeSetId(target.weights, target.spec, ctx.model, ctx.vae, ctx.render);
}

export async function renderSet(ctx: RenderContext, target: SetTarget): Promise<SetOutcome> {
  const setId = targetSetId(ctx, target);
  const lock = target.lockFile ? await waitForLock(target.lockFile, setId, ctx) : undefined;
  try {
    return await renderLocked(ctx, target, setId);
  } finally {
    await lock?.release();
  }
}

async function renderLocked(ctx: RenderContext, target: SetTarget, setId: string): Promise<SetOutcome> {
  const dir = target.dirFor(setId);
  const files = sampleSetFiles(dir);
  const job = samplerJob({
    setId,
    runId: target.runId,
    experiment: ctx.experiment,
    outDir: dir,
    model: ctx.model,
    vae: ctx.vae,
    weights: target.weights,
    spec: target.spec,
    render: ctx.render,
  });
  const base = { setId, dir, runId: target.runId, weights: target.weights, images: job.images.length };

  const manifest = await readJson<SampleSetManifest>(files.manifest).catch(() => undefined);
  const before = await checkSetImages(job, manifest?.setId === setId ? manifest.images : []);
  if (manifest?.setId === setId && before.ok.length === job.images.length) {
    const outcome: SetOutcome = { ...base, status: 'reused', rendered: 0, kept: before.ok.length, redone: [] };
    ctx.onProgress?.({ type: 'set-done', outcome });
    return outcome;
  }
  // From here on the set is incomplete: no reader may trust an old manifest.
  await rm(files.manifest, { force: true });
  const redone: { file: string; why: string }[] = [];
  await discardBad(ctx, job, before.bad, redone);
  ctx.onProgress?.({ type: 'set-start', setId, runId: target.runId, weights: target.weights.kind, total: job.images.length, todo: job.images.length - before.ok.length });
  await writeJsonAtomic(files.samplerSpec, job);

  let env: SamplerEnv = {};
  let rendered = 0;
  // A second pass only re-renders images the first pass wrote but that failed verification.
  for (let pass = 1; ; pass++) {
    const result = await runSamplerProcess({
      python: ctx.python,
      script: samplerScript(ctx.env),
      jobFile: files.samplerSpec,
      env: ctx.env,
      ...(ctx.cwd ? { cwd: ctx.cwd } : {}),
      logFile: files.log,
      eventsFile: files.events,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onEvent: (event) => forward(ctx, setId, event),
    });
    const start = result.events.find((event) => event.type === 'start');
    if (start?.type === 'start') env = start.env;
    rendered += result.events.filter((event) => event.type === 'image' && !event.skipped).length;
    if (result.aborted) throw new InterruptedError(`sampling of ${setId} interrupted; finished images are kept and the next call resumes`);
    if (result.exitCode !== 0) {
      const tail = await logTail(files.log);
      const { reason, message } = classifyFailure(result, tail);
      throw new SamplingFailedError(setId, reason, message, tail, failureHint(reason, files.log));
    }
    const after = await checkSetImages(job);
    if (after.ok.length === job.images.length) {
      await writeManifest(files.manifest, ctx, target, setId, after.ok, env);
      const kept = before.ok.length;
      const outcome: SetOutcome = { ...base, status: kept > 0 ? 'resumed' : 'rendered', rendered, kept, redone };
      ctx.onProgress?.({ type: 'set-done', outcome });
      return outcome;
    }
    if (after.missing.length > 0 || pass >= 2) {
      const problems = [...after.missing.map((file) => `${file}: missing`), ...after.bad.map((b) => `${b.file}: ${b.why}`)];
      throw new SamplingFailedError(
        setId,
        'bad_output',
        `the sampler exited 0 but ${problems.length} image(s) are not right: ${problems.slice(0, 5).join('; ')}`,
        await logTail(files.log),
        `see ${files.log}; sampling again renders only these images`,
      );
    }
    await discardBad(ctx, job, after.bad, redone);
  }
}

async function discardBad(ctx: RenderContext, job: SamplerJobSpec, bad: { file: string; why: string }[], redone: { file: string; why: string }[]) {
  for (const entry of bad) {
    const image = job.images.find((i) => i.file === entry.file)!;
    await discardImage(job.out_dir, image);
    redone.push(entry);
    ctx.onProgress?.({ type: 'redo', setId: job.set_id, file: entry.file, why: entry.why });
  }
}

function forward(ctx: RenderContext, setId: string, event: SamplerEvent): void {
  if (event.type !== 'image') return;
  ctx.onProgress?.({
    type: 'image',
    setId,
    file: event.file,
    index: event.index,
    total: event.total,
    skipped: event.skipped,
    ...(event.seconds === undefined ? {} : { seconds: event.seconds }),
  });
}

async function writeManifest(
  file: string,
  ctx: RenderContext,
  target: SetTarget,
  setId: string,
  images: SampleSetManifest['images'],
  env: SamplerEnv,
): Promise<void> {
  const manifest: Omit<SampleSetManifest, 'schemaVersion'> = {
    setId,
    runId: target.runId,
    experiment: ctx.experiment,
    weights: target.weights,
    spec: target.spec,
    model: { id: ctx.model.id, commit: ctx.model.commit },
    vae: { id: ctx.vae.id, commit: ctx.vae.commit },
    images,
    env,
    createdAt: new Date().toISOString(),
    render: ctx.render,
  };
  await writeJsonAtomic(file, { schemaVersion: SCHEMA_VERSION, ...manifest });
}

async function waitForLock(file: string, setId: string, ctx: RenderContext): Promise<RunLock> {
  let told = false;
  for (;;) {
    if (ctx.signal?.aborted) throw new InterruptedError(`interrupted while waiting for ${setId}`);
    const attempt = await tryLock(file, { purpose: `sample ${setId}` });
    if ('release' in attempt) return attempt;
    if (!told) ctx.onProgress?.({ type: 'waiting', setId, heldBy: attempt.heldBy });
    told = true;
    await sleep(ctx.lockPollMs ?? 1000, ctx.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
