// The events.jsonl protocol of python/train.py (DESIGN.md §5) and its ingestion: tail the file, keep one
// metric per step (a later line for a step replaces the earlier one), remember checkpoints, the saved
// weights and how the process ended.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

export interface BaseEvent {
  v: number;
  t: number;
}
export interface StartEvent extends BaseEvent {
  type: 'start';
  pid: number;
  attempt?: number | null;
  resume_from?: string | null;
  versions?: Record<string, string | null>;
}
export interface MetricEvent extends BaseEvent {
  type: 'metric';
  step: number;
  loss: number | null;
  lr: number | null;
  vram_alloc_mb: number | null;
  vram_reserved_mb: number | null;
  vram_peak_mb: number | null;
  /** "nan", "inf" or "-inf" when the loss was not a finite number */
  loss_nonfinite?: string;
}
export interface CheckpointEvent extends BaseEvent {
  type: 'checkpoint';
  step: number;
  path: string;
}
export interface WeightsSavedEvent extends BaseEvent {
  type: 'weights_saved';
  step: number;
  path: string;
  bytes: number | null;
}
export type EndStatus = 'success' | 'error' | 'oom' | 'nan_loss' | 'interrupted';
export interface EndEvent extends BaseEvent {
  type: 'end';
  status: EndStatus;
  exit_code?: number;
  reason?: string;
  step: number | null;
  wall_s: number;
  peak_vram_mb: number | null;
  peak_vram_reserved_mb?: number | null;
  skipped_reload?: boolean;
  error?: { type: string; message: string };
}
/** written by the harness before a resumed attempt starts */
export interface ResumeEvent extends BaseEvent {
  type: 'resume';
  from_step: number;
  checkpoint: string | null;
  dropped: number;
  attempt: number;
  /** the script's steps per epoch, when the harness knew the dataset size */
  steps_per_epoch?: number | null;
  /** true: resumed on an epoch boundary, so what an uninterrupted run trains; null: not known */
  equivalent?: boolean | null;
}
export type TrainEvent = StartEvent | MetricEvent | CheckpointEvent | WeightsSavedEvent | EndEvent | ResumeEvent;

export const EVENT_VERSION = 1;

/**
 * One line of events.jsonl as readers outside the trainer see it (reports, tracking): every field but
 * `type` may be missing in an old or cut run, and unknown fields pass through.
 */
export interface StoredEvent {
  v?: number;
  type: string;
  step?: number;
  /** unix seconds (a float); milliseconds and ISO strings are accepted too (eventSeconds) */
  t?: number | string;
  loss?: number;
  lr?: number;
  vram_alloc_mb?: number;
  vram_reserved_mb?: number;
  vram_peak_mb?: number;
  s_per_it?: number;
  [key: string]: unknown;
}

/** An event's time `t` in unix seconds: the trainer writes seconds; milliseconds and ISO strings are accepted too. */
export function eventSeconds(t: unknown): number | null {
  if (typeof t === 'number' && Number.isFinite(t)) return t > 1e11 ? t / 1000 : t;
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms / 1000;
  }
  return null;
}

/** Splits streamed text into complete lines; a trailing partial line waits for the next chunk. */
export class LineSplitter {
  private rest = '';

  push(text: string): string[] {
    const joined = this.rest + text;
    const lines = joined.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }
}

/** The state of one attempt (or of a whole events file), built event by event. */
export class EventLog {
  readonly metrics = new Map<number, MetricEvent>();
  readonly checkpoints = new Map<number, CheckpointEvent>();
  start: StartEvent | undefined;
  weights: WeightsSavedEvent | undefined;
  end: EndEvent | undefined;
  firstNonFinite: MetricEvent | undefined;
  lastMetric: MetricEvent | undefined;
  ingested = 0;
  malformed = 0;

  ingestLine(line: string): TrainEvent | undefined {
    if (line.length === 0) return undefined;
    let event: TrainEvent;
    try {
      event = JSON.parse(line) as TrainEvent;
    } catch {
      this.malformed += 1;
      return undefined;
    }
    this.ingest(event);
    return event;
  }

  ingest(event: TrainEvent): void {
    this.ingested += 1;
    switch (event.type) {
      case 'metric':
        this.metrics.set(event.step, event);
        this.lastMetric = event;
        if (event.loss === null && event.loss_nonfinite && !this.firstNonFinite) this.firstNonFinite = event;
        break;
      case 'checkpoint':
        this.checkpoints.set(event.step, event);
        break;
      case 'weights_saved':
        this.weights = event;
        break;
      case 'end':
        this.end = event;
        break;
      case 'start':
        this.start = event;
        break;
      case 'resume':
        for (const step of [...this.metrics.keys()]) if (step > event.from_step) this.metrics.delete(step);
        break;
    }
  }

  summary(): EventSummary {
    const steps = [...this.metrics.keys()].sort((a, b) => a - b);
    const smoothed = ema(steps.map((s) => finite(this.metrics.get(s)!.loss))).filter((l): l is number => l !== null);
    const last = steps.length ? this.metrics.get(steps[steps.length - 1]!)! : undefined;
    return {
      steps: steps.length,
      lastStep: last?.step ?? 0,
      finalLoss: smoothed.length ? smoothed[smoothed.length - 1]! : null,
      minLoss: smoothed.length ? Math.min(...smoothed) : null,
      peakVramMb: peakVramMb([...this.metrics.values(), ...(this.end ? [this.end] : [])]),
      secondsPerStep: secondsPerStep([...this.metrics.values()]),
    };
  }
}

// One number, one meaning: the console (`run`, `sweep`), the report and W&B's summary show loss and VRAM
// through these two functions (and VRAM in GiB through report/format.ts `gib`).

/** Loss is shown smoothed: s_t = LOSS_EMA_FACTOR · s_{t−1} + (1 − LOSS_EMA_FACTOR) · loss_t, from the first loss. */
export const LOSS_EMA_FACTOR = 0.9;

export function ema(values: (number | null)[], factor = LOSS_EMA_FACTOR): (number | null)[] {
  let state: number | null = null;
  return values.map((value) => {
    if (value === null) return state;
    state = state === null ? value : factor * state + (1 - factor) * value;
    return state;
  });
}

/**
 * Peak VRAM, in MiB: the most memory PyTorch's CUDA allocator held for the run, i.e. the largest of every
 * reserved and allocated figure the metrics tap recorded (reserved ≥ allocated, and a mid-step allocation
 * peak can exceed the reserved figure sampled at the step's end). Shown in GiB (÷ 1024).
 */
export function peakVramMb(events: readonly object[]): number | null {
  let peak: number | null = null;
  for (const event of events as Record<string, unknown>[]) {
    for (const key of ['vram_peak_mb', 'vram_reserved_mb', 'vram_alloc_mb', 'peak_vram_mb', 'peak_vram_reserved_mb']) {
      const value = finite(event[key]);
      if (value !== null && (peak === null || value > peak)) peak = value;
    }
  }
  return peak;
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export interface EventSummary {
  steps: number;
  lastStep: number;
  /** the smoothed loss (ema) at the last step */
  finalLoss: number | null;
  /** the lowest smoothed loss */
  minLoss: number | null;
  /** peakVramMb(): the most the CUDA allocator held */
  peakVramMb: number | null;
  /** median time between consecutive steps, robust to checkpoint pauses and resumes */
  secondsPerStep: number | null;
}

export function secondsPerStep(metrics: MetricEvent[]): number | null {
  const sorted = [...metrics].sort((a, b) => a.step - b.step);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.step === a.step + 1 && b.t >= a.t) gaps.push(b.t - a.t);
  }
  if (gaps.length === 0) return null;
  gaps.sort((x, y) => x - y);
  return gaps[Math.floor(gaps.length / 2)]!;
}

export function parseEventsText(text: string): EventLog {
  const log = new EventLog();
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop(); // a last line cut short by a crash
  for (const line of lines) log.ingestLine(line);
  return log;
}

/** The events of a run's events.jsonl; a missing or unreadable file is an empty log. */
export async function readEventLog(file: string): Promise<EventLog> {
  return parseEventsText(await readFile(file, 'utf8').catch(() => ''));
}

/** Follows a growing file from an offset: each poll returns the complete lines appended since. */
export class FileTail {
  private handle: FileHandle | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private readonly splitter = new LineSplitter();
  private readonly buffer: Buffer;

  constructor(
    readonly file: string,
    private offset = 0,
    chunkBytes = 1 << 20,
  ) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
  }

  get position(): number {
    return this.offset;
  }

  async poll(): Promise<string[]> {
    if (!this.handle) {
      try {
        this.handle = await open(this.file, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    }
    const out: string[] = [];
    for (;;) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      for (const line of this.splitter.push(this.decoder.write(this.buffer.subarray(0, bytesRead)))) out.push(line);
      if (bytesRead < this.buffer.length) break;
    }
    return out;
  }

  /** The text appended since the last poll, as it is (for logs, whose lines may end in \r). */
  async pollText(maxBytes = 1 << 16): Promise<string> {
    if (!this.handle) {
      try {
        this.handle = await open(this.file, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw error;
      }
    }
    const { size } = await this.handle.stat();
    if (size <= this.offset) return '';
    const start = Math.max(this.offset, size - maxBytes);
    const length = Math.min(size - start, this.buffer.length);
    const { bytesRead } = await this.handle.read(this.buffer, 0, length, start);
    this.offset = start + bytesRead;
    return this.buffer.subarray(0, bytesRead).toString('utf8');
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
