// Renders the sample sets of one run, or finds them already rendered. All sets that need pixels go to ONE
// sampler process, which loads SDXL once and swaps LoRA weights per set (python/sample.py). A set is done
// only when set.json exists and every image it lists decodes and matches its sidecar; a crash leaves
// finished images that the next call keeps, and fails only the set the sampler was on: the sets after it
// get a new process.
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { InterruptedError } from '../errors.ts';
import { appendJsonLine, readJson, writeJsonAtomic } from '../store/atomic.ts';
import { samplerBatchFiles, sampleSetFiles, SCHEMA_VERSION } from '../store/layout.ts';
import { tryLock, type LockInfo, type RunLock } from '../store/lock.ts';
import { runSamplerProcess } from './child.ts';
import { classifyFailure, failureHint, logTail, SamplingFailedError } from './failure.ts';
import { SAMPLER_PROTOCOL, type SamplerBatchSpec, type SamplerEnv, type SamplerEvent, type SamplerJobSpec } from './protocol.ts';
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

export interface RenderSetsResult {
  /** in the order of the targets, leaving out the failed ones */
  sets: SetOutcome[];
  /** one per failed set; the other sets were rendered all the same */
  failures: SamplingFailedError[];
}

export function targetSetId(ctx: Pick<RenderContext, 'model' | 'vae' | 'render'>, target: Pick<SetTarget, 'weights' | 'spec'>): string {
  return computeSetId(target.weights, target.spec, ctx.model, ctx.vae, ctx.render);
}

/** A set that needs the sampler: its job, what was there before, and what this call has seen since. */
interface PendingSet {
  target: SetTarget;
  setId: string;
  dir: string;
  files: ReturnType<typeof sampleSetFiles>;
  job: SamplerJobSpec;
  kept: number;
  redone: { file: string; why: string }[];
  rendered: number;
  env: SamplerEnv;
  /** sampler processes that started it */
  passes: number;
  lock?: RunLock;
}

/**
 * Every target, rendering what is missing in one sampler process (`ownerDir`: the run's folder, where its
 * batch file and log go). A set another process is rendering (a shared control set) is waited for after the
 * others.
 */
export async function renderSets(ctx: RenderContext, targets: SetTarget[], ownerDir: string): Promise<RenderSetsResult> {
  const outcomes = new Map<SetTarget, SetOutcome>();
  const failures: SamplingFailedError[] = [];
  const pending: PendingSet[] = [];
  const busy: SetTarget[] = [];
  try {
    for (const target of targets) {
      const setId = targetSetId(ctx, target);
      let lock: RunLock | undefined;
      if (target.lockFile) {
        const attempt = await tryLock(target.lockFile, { purpose: `sample ${setId}` });
        if (!('release' in attempt)) {
          busy.push(target);
          continue;
        }
        lock = attempt;
      }
      const prepared = await prepareSet(ctx, target, setId, lock);
      if ('status' in prepared) outcomes.set(target, prepared);
      else pending.push(prepared);
    }
    await renderPending(ctx, pending, ownerDir, outcomes, failures);
    for (const target of busy) {
      const setId = targetSetId(ctx, target);
      const lock = await waitForLock(target.lockFile!, setId, ctx);
      const prepared = await prepareSet(ctx, target, setId, lock);
      if ('status' in prepared) outcomes.set(target, prepared);
      else {
        pending.push(prepared);
        await renderPending(ctx, [prepared], ownerDir, outcomes, failures);
      }
    }
  } finally {
    for (const set of pending) await set.lock?.release();
  }
  return { sets: targets.flatMap((target) => outcomes.get(target) ?? []), failures };
}

/** A complete set is reused (its lock let go); otherwise the set is made ready for the sampler. */
async function prepareSet(ctx: RenderContext, target: SetTarget, setId: string, lock: RunLock | undefined): Promise<SetOutcome | PendingSet> {
  try {
    return await prepareLocked(ctx, target, setId, lock);
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

async function prepareLocked(ctx: RenderContext, target: SetTarget, setId: string, lock: RunLock | undefined): Promise<SetOutcome | PendingSet> {
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
  const manifest = await readJson<SampleSetManifest>(files.manifest).catch(() => undefined);
  const before = await checkSetImages(job, manifest?.setId === setId ? manifest.images : []);
  if (manifest?.setId === setId && before.ok.length === job.images.length) {
    await lock?.release();
    return setDone(ctx, target, setId, dir, job.images.length, { status: 'reused', rendered: 0, kept: before.ok.length, redone: [] });
  }
  // From here on the set is incomplete: no reader may trust an old manifest.
  await rm(files.manifest, { force: true });
  const set: PendingSet = { target, setId, dir, files, job, kept: before.ok.length, redone: [], rendered: 0, env: {}, passes: 0, ...(lock ? { lock } : {}) };
  await discardBad(ctx, set, before.bad);
  await writeJsonAtomic(files.samplerSpec, job);
  return set;
}

/**
 * Runs sampler processes until every pending set is done or failed. A process that dies fails the set it
 * was on; the sets it never reached go to the next process, unless it died before reaching any set (then
 * nothing would get further, and every set fails with what it said).
 */
async function renderPending(ctx: RenderContext, pending: PendingSet[], ownerDir: string, outcomes: Map<SetTarget, SetOutcome>, failures: SamplingFailedError[]): Promise<void> {
  const files = samplerBatchFiles(ownerDir);
  let queue = pending;
  while (queue.length > 0) {
    const batch: SamplerBatchSpec = { schemaVersion: SCHEMA_VERSION, protocol: SAMPLER_PROTOCOL, sets: queue.map((set) => set.files.samplerSpec) };
    await writeJsonAtomic(files.batch, batch);
    const byId = new Map(queue.map((set) => [set.setId, set]));
    const seen = new Map<string, SamplerEvent[]>(queue.map((set) => [set.setId, []]));
    const finished = new Set<string>();
    const next: PendingSet[] = [];
    let current: PendingSet | undefined;
    const settle = (set: PendingSet, verdict: SetOutcome | 'again' | SamplingFailedError) => {
      if (verdict === 'again') next.push(set);
      else if (verdict instanceof SamplingFailedError) failures.push(verdict);
      else outcomes.set(set.target, verdict);
    };

    const onEvent = async (event: SamplerEvent) => {
      // events name their set; one that does not (an older sampler) belongs to the set last started
      const named = event.set_id ?? undefined;
      const set = (named ? byId.get(named) : undefined) ?? current;
      if (!set) return;
      seen.get(set.setId)!.push(event);
      await appendJsonLine(set.files.events, event);
      if (event.type === 'start') {
        current = set;
        set.passes++;
        set.env = event.env;
        ctx.onProgress?.({ type: 'set-start', setId: set.setId, runId: set.target.runId, weights: set.target.weights.kind, total: set.job.images.length, todo: set.job.images.length - set.kept });
      } else if (event.type === 'image') {
        if (!event.skipped) set.rendered++;
        ctx.onProgress?.({
          type: 'image',
          setId: set.setId,
          file: event.file,
          index: event.index,
          total: event.total,
          skipped: event.skipped,
          ...(event.seconds === undefined ? {} : { seconds: event.seconds }),
        });
      } else if (event.type === 'end') {
        // Checked while the sampler goes on with the next set: a finished set is recorded at once.
        finished.add(set.setId);
        settle(set, await finishSet(ctx, set, files.log));
      }
    };
    const result = await runSamplerProcess({
      python: ctx.python,
      script: samplerScript(ctx.env),
      jobFile: files.batch,
      // on the CPU one torch thread per process unless the caller set one: torch's default (a thread per core)
      // made each 64 px image take 10–21 s instead of about 1 s on a busy 2-core machine, as in training
      env: ctx.render.device === 'cpu' && !ctx.env.OMP_NUM_THREADS ? { ...ctx.env, OMP_NUM_THREADS: '1' } : ctx.env,
      ...(ctx.cwd ? { cwd: ctx.cwd } : {}),
      logFile: files.log,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onEvent,
    });
    if (result.aborted) {
      const on = current && !finished.has(current.setId) ? current.setId : queue[0]!.setId;
      throw new InterruptedError(`sampling of ${on} interrupted; finished images are kept and the next call resumes`);
    }
    const reachedAny = queue.some((set) => seen.get(set.setId)!.some((event) => event.type === 'start'));
    // the log's last lines, read once and only when a set failed (the log grows with every sampler process)
    let tail: string[] | undefined;
    for (const set of queue) {
      if (finished.has(set.setId)) continue;
      const events = seen.get(set.setId)!;
      const said = events.some((event) => event.type === 'error');
      const started = events.some((event) => event.type === 'start');
      if (!said && !started && reachedAny && result.exitCode !== 0) {
        next.push(set); // the process died on another set before reaching this one
        continue;
      }
      if (!said && result.exitCode === 0) {
        // the sampler says it is done without having ended this set: see what is there
        settle(set, await finishSet(ctx, set, files.log));
        continue;
      }
      tail ??= await logTail(files.log);
      const { reason, message } = classifyFailure(result, events, tail);
      failures.push(new SamplingFailedError(set.setId, reason, message, tail, failureHint(reason, files.log)));
    }
    queue = next;
  }
}

/** After the sampler ended a set: complete (manifest written), worth one more pass, or failed. */
async function finishSet(ctx: RenderContext, set: PendingSet, logFile: string): Promise<SetOutcome | 'again' | SamplingFailedError> {
  const after = await checkSetImages(set.job);
  if (after.ok.length === set.job.images.length) {
    await writeManifest(set.files.manifest, ctx, set, after.ok);
    await set.lock?.release();
    return setDone(ctx, set.target, set.setId, set.dir, set.job.images.length, { status: set.kept > 0 ? 'resumed' : 'rendered', rendered: set.rendered, kept: set.kept, redone: set.redone });
  }
  // A second pass only re-renders images the first pass wrote but that failed verification.
  if (after.missing.length === 0 && set.passes < 2) {
    await discardBad(ctx, set, after.bad);
    return 'again';
  }
  const problems = [...after.missing.map((file) => `${file}: missing`), ...after.bad.map((b) => `${b.file}: ${b.why}`)];
  return new SamplingFailedError(
    set.setId,
    'bad_output',
    `the sampler ended the set but ${problems.length} image(s) are not right: ${problems.slice(0, 5).join('; ')}`,
    await logTail(logFile),
    `see ${logFile}; sampling again renders only these images`,
  );
}

/** A complete set (reused as it was, or rendered now): its outcome, told to the caller's progress. */
function setDone(ctx: RenderContext, target: SetTarget, setId: string, dir: string, images: number, done: Pick<SetOutcome, 'status' | 'rendered' | 'kept' | 'redone'>): SetOutcome {
  const outcome: SetOutcome = { setId, dir, runId: target.runId, weights: target.weights, images, ...done };
  ctx.onProgress?.({ type: 'set-done', outcome });
  return outcome;
}

async function discardBad(ctx: RenderContext, set: PendingSet, bad: { file: string; why: string }[]) {
  for (const entry of bad) {
    const image = set.job.images.find((i) => i.file === entry.file)!;
    await discardImage(set.job.out_dir, image);
    set.redone.push(entry);
    ctx.onProgress?.({ type: 'redo', setId: set.setId, file: entry.file, why: entry.why });
  }
}

async function writeManifest(file: string, ctx: RenderContext, set: PendingSet, images: SampleSetManifest['images']): Promise<void> {
  const manifest: Omit<SampleSetManifest, 'schemaVersion'> = {
    setId: set.setId,
    runId: set.target.runId,
    experiment: ctx.experiment,
    weights: set.target.weights,
    spec: set.target.spec,
    model: { id: ctx.model.id, commit: ctx.model.commit },
    vae: { id: ctx.vae.id, commit: ctx.vae.commit },
    images,
    env: set.env,
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
