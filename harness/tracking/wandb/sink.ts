// The W&B sink: creates the run at once, ships the ledger (which the local sink has already written) in
// the background, and keeps the run alive on W&B with a `{}` heartbeat after every 30 s without a
// file_stream request, whatever stage the run is in (model load, training, sampling, scoring), as the
// official client does; W&B marks a silent run crashed. Never throws into the run; what it cannot send
// stays pending for `harness sync`. Its timers never keep the process alive and stop at finish().
import { hashObject } from '../../util/hash.ts';
import type { Ledger } from '../local.ts';
import type { WandbSyncState } from '../state.ts';
import type { LedgerLine, TrackingConfig, TrackingSink } from '../types.ts';
import type { RunRef, WandbClient } from './client.ts';
import { REAL_CLOCK, type Clock, type Timer } from './http.ts';
import { ship } from './ship.ts';

export interface WandbSinkOptions {
  /** least time between two shipments while the run is live */
  flushIntervalMs: number;
  /** how long one live shipment may keep retrying before it gives up until the next */
  liveDeadlineMs: number;
  /** how long finish() may spend delivering the rest */
  finishTimeoutMs: number;
  /** finish()'s budget when the server already failed in this run: don't keep a dead server's run waiting */
  degradedFinishTimeoutMs: number;
  /** a `{}` file_stream request after this long without one (the official client: about 30 s) */
  heartbeatIntervalMs: number;
  /** uploads at once */
  uploadConcurrency: number;
  clock: Clock;
  /** the run exists on W&B: where to see it */
  onCreated?: (run: RunRef) => void;
}

export const DEFAULT_SINK_OPTIONS: WandbSinkOptions = {
  flushIntervalMs: 2_000,
  liveDeadlineMs: 60_000,
  finishTimeoutMs: 60_000,
  degradedFinishTimeoutMs: 5_000,
  heartbeatIntervalMs: 30_000,
  uploadConcurrency: 8,
  clock: REAL_CLOCK,
};

export class WandbSink implements TrackingSink {
  private timer: Timer | null = null;
  private heartbeatTimer: Timer | null = null;
  private shipping: Promise<void> | null = null;
  private beating: Promise<void> | null = null;
  private controller = new AbortController();
  private failures = 0;
  private finishing = false;
  private created = false;
  private trackingConfig: TrackingConfig;

  constructor(
    private readonly runDir: string,
    private readonly ledger: Ledger,
    private readonly client: WandbClient,
    private readonly state: WandbSyncState,
    private readonly save: () => Promise<void>,
    config: TrackingConfig,
    private readonly options: WandbSinkOptions = DEFAULT_SINK_OPTIONS,
  ) {
    this.trackingConfig = config;
  }

  /** Creates (or resumes) the run on W&B now, with whatever the ledger already holds. */
  start(): void {
    this.schedule(0);
  }

  async config(config: TrackingConfig): Promise<void> {
    if (hashObject(config) === hashObject(this.trackingConfig)) return;
    this.trackingConfig = config;
    this.schedule();
  }

  async log(_lines: LedgerLine[]): Promise<void> {
    this.schedule();
  }

  async summary(_summary: Record<string, unknown>): Promise<void> {
    this.schedule();
  }

  /** Delivers the rest within a bounded time, then `complete`. Never throws. */
  async finish(_exitCode: number): Promise<void> {
    this.finishing = true;
    this.timer?.cancel();
    this.timer = null;
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
    this.controller.abort(new Error('run finished'));
    await this.shipping;
    await this.beating;
    this.controller = new AbortController();
    const budget = this.failures > 0 || this.client.http.lastAttemptFailed ? this.options.degradedFinishTimeoutMs : this.options.finishTimeoutMs;
    await this.shipOnce(budget, true);
  }

  get lastFailed(): boolean {
    return this.failures > 0;
  }

  private schedule(delayMs?: number): void {
    if (this.finishing || this.timer || this.shipping) return;
    const delay = delayMs ?? Math.min(300_000, this.options.flushIntervalMs * 2 ** Math.min(this.failures, 8));
    this.timer = this.options.clock.setTimer(() => {
      this.timer = null;
      this.shipping = this.shipOnce(this.options.liveDeadlineMs, false).finally(() => {
        this.shipping = null;
        // Rows that arrived meanwhile (or a failure to retry later) need another shipment.
        if (this.state.historyAcked < this.ledger.lines.length || this.failures > 0) this.schedule();
      });
    }, delay);
  }

  /** The next heartbeat check: `heartbeatIntervalMs` after the latest file_stream request (or the run's creation). */
  private armHeartbeat(): void {
    if (this.finishing || !this.created) return;
    this.heartbeatTimer?.cancel();
    const since = this.client.lastFileStreamAt ?? this.options.clock.now();
    const wait = Math.max(0, since + this.options.heartbeatIntervalMs - this.options.clock.now());
    this.heartbeatTimer = this.options.clock.setTimer(() => {
      this.heartbeatTimer = null;
      void this.beat();
    }, wait);
  }

  private async beat(): Promise<void> {
    if (this.finishing) return;
    const { clock, heartbeatIntervalMs } = this.options;
    const silentFor = clock.now() - (this.client.lastFileStreamAt ?? -Infinity);
    // Something else was sent meanwhile (or is being retried): nothing to fill yet.
    if (silentFor >= heartbeatIntervalMs && this.state.entity) {
      const run: RunRef = { entity: this.state.entity, project: this.state.run.project, name: this.state.run.name };
      this.beating = this.client
        .heartbeat(run, { deadline: clock.now() + Math.min(heartbeatIntervalMs, this.client.http.policy.attemptTimeoutMs), signal: this.controller.signal })
        .catch(() => {
          // a lost heartbeat loses no data; the next one follows
        })
        .finally(() => {
          this.beating = null;
        });
      await this.beating;
    }
    this.armHeartbeat();
  }

  private async shipOnce(budgetMs: number, complete: boolean): Promise<void> {
    try {
      await ship({
        runDir: this.runDir,
        client: this.client,
        ledger: this.ledger.lines.slice(),
        config: this.trackingConfig,
        state: this.state,
        save: this.save,
        send: { deadline: this.options.clock.now() + budgetMs, signal: this.controller.signal },
        complete,
        concurrency: this.options.uploadConcurrency,
        onUpserted: (run) => {
          if (!this.created) {
            this.created = true;
            this.options.onCreated?.(run);
          }
          this.armHeartbeat();
        },
      });
      this.failures = 0;
      if (this.state.lastError) {
        this.state.lastError = null;
        await this.save();
      }
    } catch (error) {
      if (this.finishing && !complete) return; // cut short by finish(), which ships the rest itself
      this.failures += 1;
      this.state.lastError = { message: (error as Error).message, at: new Date().toISOString() };
      await this.save().catch(() => {});
    } finally {
      if (!complete) this.armHeartbeat();
    }
  }
}
