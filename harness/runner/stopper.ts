// Stopping a child that leads its own process group: the first signal to the whole group, then harder
// ones while anything of the group is still alive after each grace period.
import { groupAlive } from './process.ts';

export interface StoppableGroup {
  pid: number;
  signalGroup(signal: NodeJS.Signals): boolean;
  exited: Promise<unknown>;
}

/** SIGINT → SIGTERM → SIGKILL, or SIGTERM → SIGKILL, one grace period apart; `dispose` cancels what is pending. */
export class GroupStopper<Cause extends string = string> {
  cause: Cause | undefined;
  sentKill = false;
  private timers: NodeJS.Timeout[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly child: StoppableGroup,
    private readonly graceMs: number,
  ) {}

  /** Resolves once the group is gone or the last signal has been sent; a second call returns the first one's promise. */
  stop(first: 'SIGINT' | 'SIGTERM', cause: Cause): Promise<void> {
    if (this.stopping) return this.stopping;
    this.cause = cause;
    this.child.signalGroup(first);
    this.stopping = new Promise<void>((resolve) => {
      const escalate = (signal: NodeJS.Signals, after: number, next?: () => void) =>
        this.timers.push(
          setTimeout(() => {
            if (!groupAlive(this.child.pid)) return resolve();
            if (signal === 'SIGKILL') this.sentKill = true;
            this.child.signalGroup(signal);
            if (next) next();
            else resolve();
          }, after),
        );
      if (first === 'SIGINT') escalate('SIGTERM', this.graceMs, () => escalate('SIGKILL', this.graceMs));
      else escalate('SIGKILL', this.graceMs);
      void this.child.exited.then(() => {
        if (!groupAlive(this.child.pid)) resolve();
      });
    });
    return this.stopping;
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }
}
