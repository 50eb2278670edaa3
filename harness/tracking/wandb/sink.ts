// The W&B sink: ships the ledger (which the local sink has already written) in the background, at a
// bounded pace, never throwing into the run. What it cannot send stays pending for `harness sync`.
import { hashObject } from '../../util/hash.ts';
import type { Ledger } from '../local.ts';
import type { WandbSyncState } from '../state.ts';
import type { LedgerLine, TrackingConfig, TrackingSink } from '../types.ts';
import type { WandbClient } from './client.ts';
import { REAL_CLOCK, type Clock } from './http.ts';
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
  clock: Clock;
}

export const DEFAULT_SINK_OPTIONS: WandbSinkOptions = {
  flushIntervalMs: 2_000,
  liveDeadlineMs: 60_000,
  finishTimeoutMs: 30_000,
  degradedFinishTimeoutMs: 5_000,
  clock: REAL_CLOCK,
};

export class WandbSink implements TrackingSink {
  private timer: NodeJS.Timeout | null = null;
  private shipping: Promise<void> | null = null;
  private controller = new AbortController();
  private failures = 0;
  private finishing = false;
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.controller.abort(new Error('run finished'));
    await this.shipping;
    this.controller = new AbortController();
    const budget = this.failures > 0 || this.client.http.lastAttemptFailed ? this.options.degradedFinishTimeoutMs : this.options.finishTimeoutMs;
    await this.shipOnce(budget, true);
  }

  get lastFailed(): boolean {
    return this.failures > 0;
  }

  private schedule(): void {
    if (this.finishing || this.timer || this.shipping) return;
    const delay = Math.min(300_000, this.options.flushIntervalMs * 2 ** Math.min(this.failures, 8));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.shipping = this.shipOnce(this.options.liveDeadlineMs, false).finally(() => {
        this.shipping = null;
        // Rows that arrived meanwhile (or a failure to retry later) need another shipment.
        if (this.state.historyAcked < this.ledger.lines.length || this.failures > 0) this.schedule();
      });
    }, delay);
    this.timer.unref?.(); // a pending upload never keeps the process alive
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
    }
  }
}
