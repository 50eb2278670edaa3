// Mirrors one run live while sweep/run drive it: every event, sample set and score report goes to the
// local sink (the ledger) and, online, to the W&B sink in the background. Nothing here can fail, block
// or slow the run: every method returns at once or within a bounded time, and never throws.
import type { ExperimentFile } from '../config/schema.ts';
import type { RunSpec } from '../plan/planner.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { configFrom, foldEvents, sampleSetLines, scoreLines, stateFromLedger, weightsStepOf, type FoldState } from './derive.ts';
import { backlogFrom } from './backlog.ts';
import { identityFor } from './identity.ts';
import { imageSizes, Ledger, LocalSink, readEnvInfo } from './local.ts';
import { resolveTarget, type TrackingMode } from './mode.ts';
import { trackingNotice } from './notices.ts';
import { pendingFromStore, setDirFromRun } from './replay.ts';
import { attachState, readWandbState, syncState, writeWandbState, type RunSyncState, type WandbSyncState } from './state.ts';
import type { LedgerLine, RunEvent } from './types.ts';
import { runUrl, WandbClient } from './wandb/client.ts';
import { DEFAULT_POLICY, envMs, Http, policyFromEnv, REAL_CLOCK, type RetryPolicy } from './wandb/http.ts';
import { DEFAULT_SINK_OPTIONS, WandbSink, type WandbSinkOptions } from './wandb/sink.ts';

export interface MirrorOptions {
  /** W&B group; default the experiment name (a sweep passes its own) */
  group?: string;
  policy?: Partial<RetryPolicy>;
  sink?: Partial<WandbSinkOptions>;
  /** lines for the user (the run's address); default: the tracking notice listeners */
  notify?: (line: string) => void;
}

export interface MirrorInput {
  runDir: string;
  spec: RunSpec;
  experimentConfig: Pick<ExperimentFile, 'name' | 'tracking'>;
  env: NodeJS.ProcessEnv;
  options?: MirrorOptions;
}

export interface MirrorOutcome {
  mode: TrackingMode;
  why: string;
  /** null when disabled */
  sync: RunSyncState | null;
  /** what W&B lacks and why, in plain words ("23 rows and 4 files not sent: cannot reach …"); null when it has everything */
  error: string | null;
}

export interface RunMirror {
  readonly mode: TrackingMode;
  readonly why: string;
  /** events just appended to events.jsonl (metric events become history rows on their step) */
  onEvents(events: RunEvent[]): void;
  /** a complete sample set (its set.json written) */
  onSampleSet(manifest: SampleSetManifest, setDir: string): void;
  /** a score report written to scores/<setId>.json */
  onScores(report: ScoreReport, setId: string): void;
  /** records the exit status, delivers what it can within a bounded time; never rejects */
  finish(exitCode: number): Promise<MirrorOutcome>;
}

export function mirrorRun(input: MirrorInput): RunMirror {
  const target = resolveTarget(input.experimentConfig.tracking, input.env);
  if (target.mode === 'disabled') {
    return {
      mode: 'disabled',
      why: target.why,
      onEvents() {},
      onSampleSet() {},
      onScores() {},
      finish: async () => ({ mode: 'disabled', why: target.why, sync: null, error: null }),
    };
  }
  return new LiveMirror(input, target.mode, target.why);
}

class LiveMirror implements RunMirror {
  private chain: Promise<void>;
  private saving: Promise<void> = Promise.resolve();
  private ledger!: Ledger;
  private local!: LocalSink;
  private wandb: WandbSink | null = null;
  private state!: WandbSyncState;
  private fold: FoldState = stateFromLedger([]);
  private localError: string | null = null;
  private readonly manifests = new Map<string, SampleSetManifest>();

  constructor(
    private readonly input: MirrorInput,
    readonly mode: TrackingMode,
    readonly why: string,
  ) {
    this.chain = this.guard(() => this.start());
  }

  onEvents(events: RunEvent[]): void {
    this.enqueue(async () => {
      const result = foldEvents(this.fold, events);
      this.fold = result.state;
      await this.log(result.lines);
    });
  }

  onSampleSet(manifest: SampleSetManifest, setDir: string): void {
    this.manifests.set(manifest.setId, manifest);
    this.enqueue(async () => {
      const sizes = await imageSizes(setDir, manifest);
      const result = sampleSetLines(this.fold, manifest, setDirFromRun(this.input.runDir, setDir), sizes, undefined, this.ledger.srcs);
      this.fold = result.state;
      await this.log(result.lines);
    });
  }

  onScores(report: ScoreReport, setId: string): void {
    this.enqueue(async () => {
      if (this.ledger.srcs.has(`c:${setId}`)) return;
      const manifest = this.manifests.get(setId);
      const weights = manifest?.weights.kind === 'control' ? { kind: 'control' as const } : { kind: 'run' as const, step: manifest ? weightsStepOf(manifest, this.fold) : null };
      const result = scoreLines(this.fold, setId, report, weights, Date.now() / 1000);
      this.fold = result.state;
      await this.log(result.lines);
    });
  }

  async finish(exitCode: number): Promise<MirrorOutcome> {
    this.enqueue(async () => {
      // Whatever reached the store without passing through on*(), e.g. events of the last second.
      const rest = await pendingFromStore(this.input.runDir, this.ledger.lines);
      await this.log(rest.lines);
      this.state.finished = { exitCode, at: new Date().toISOString() };
      await this.save();
      const envInfo = await readEnvInfo(this.input.runDir);
      await this.wandb?.config(configFrom(this.input.spec, envInfo));
      await this.local.finish(exitCode);
    });
    await this.chain;
    if (this.wandb) await this.guard(() => this.wandb!.finish(exitCode));
    await this.saving;
    const sync = await syncState(this.input.runDir).catch(() => null);
    return { mode: this.mode, why: this.why, sync, error: this.behind(sync) };
  }

  /** W&B lacks something: what, and why (the last failure, offline and why, or the finish time running out). */
  private behind(sync: RunSyncState | null): string | null {
    if (this.localError) return this.localError;
    if (!sync) return this.state?.lastError?.message ?? null;
    const lastError = sync.lastError ?? (this.mode === 'online' ? 'the time to finish ran out' : null);
    return backlogFrom({ ...sync, lastError }, this.mode, this.why)?.text ?? null;
  }

  private async start(): Promise<void> {
    const { runDir, spec, env } = this.input;
    this.ledger = await Ledger.open(runDir);
    this.local = new LocalSink(this.ledger);
    const caughtUp = await pendingFromStore(runDir, this.ledger.lines);
    await this.ledger.append(caughtUp.lines);
    this.fold = caughtUp.state;
    const target = resolveTarget(this.input.experimentConfig.tracking, env);
    const envInfo = await readEnvInfo(runDir);
    const identity = identityFor({ spec, envInfo, target, env, ...(this.input.options?.group ? { group: this.input.options.group } : {}) });
    this.state = attachState(await readWandbState(runDir), identity, target.baseUrl, this.mode);
    await this.save();
    if (this.mode !== 'online' || !target.credentials) return;
    const http = new Http({ ...DEFAULT_POLICY, ...policyFromEnv(env), ...this.input.options?.policy }, this.input.options?.sink?.clock ?? REAL_CLOCK);
    const client = new WandbClient(target.baseUrl, target.credentials, http);
    const notify = this.input.options?.notify ?? trackingNotice;
    // A new live session upserts the run again, as the official client does when it resumes one.
    this.state.upserted = null;
    this.wandb = new WandbSink(runDir, this.ledger, client, this.state, () => this.save(), configFrom(spec, envInfo), {
      ...DEFAULT_SINK_OPTIONS,
      ...sinkOptionsFromEnv(env),
      onCreated: (run) => notify(`${spec.id}: W&B run ${runUrl(target.baseUrl, run)}`),
      ...this.input.options?.sink,
    });
    this.wandb.start();
  }

  private async log(lines: LedgerLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.local.log(lines);
    await this.wandb?.log(lines);
  }

  /** State writes go one at a time, so an older snapshot never lands after a newer one. */
  private save(): Promise<void> {
    this.saving = this.saving.then(() => writeWandbState(this.input.runDir, this.state)).catch((error: Error) => {
      this.localError = `tracking/wandb.json: ${error.message}`;
    });
    return this.saving;
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(() => (this.ledger ? this.guard(task) : undefined));
  }

  private async guard(task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      // The mirror is a copy: a failure here is recorded, never passed on to the run.
      this.localError = (error as Error).message;
    }
  }
}

/**
 * Sink tuning through the environment, like the retry policy's (HARNESS_WANDB_HEARTBEAT_MS: the silence
 * after which a heartbeat goes; HARNESS_WANDB_FINISH_MS: the most time finish() spends delivering), for
 * slow links and for tests that must not wait out production times. Unset or invalid: the defaults.
 */
export function sinkOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<WandbSinkOptions> {
  const heartbeat = envMs(env, 'HARNESS_WANDB_HEARTBEAT_MS', { zero: false });
  const finish = envMs(env, 'HARNESS_WANDB_FINISH_MS', { zero: false });
  return {
    ...(heartbeat === undefined ? {} : { heartbeatIntervalMs: heartbeat }),
    ...(finish === undefined ? {} : { finishTimeoutMs: finish, degradedFinishTimeoutMs: Math.min(finish, DEFAULT_SINK_OPTIONS.degradedFinishTimeoutMs) }),
  };
}
