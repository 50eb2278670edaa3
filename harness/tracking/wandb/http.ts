// One HTTP exchange with W&B, robustly: a fresh request per attempt, a per-attempt timeout, backoff
// with jitter on 429/5xx/network errors, Retry-After honoured, a pace between requests, and an
// overall deadline. Nothing here logs; errors never carry the Authorization header.

export interface RetryPolicy {
  /** first backoff; doubles per attempt */
  baseDelayMs: number;
  maxDelayMs: number;
  /** one attempt's limit (a slow answer counts as a failed attempt) */
  attemptTimeoutMs: number;
  /** least time between the starts of two requests: "at most a few per second" */
  minGapMs: number;
}

export const DEFAULT_POLICY: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 30_000, attemptTimeoutMs: 30_000, minGapMs: 300 };

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export class WandbHttpError extends Error {
  readonly status: number | undefined;
  /** false for answers that will not change on a retry (400, 401, 403, 404, GraphQL errors) */
  readonly retryable: boolean;

  constructor(message: string, options: { status?: number; retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WandbHttpError';
    this.status = options.status;
    this.retryable = options.retryable;
  }
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** short name for error messages, e.g. "file_stream" */
  what: string;
}

export interface HttpResponse {
  status: number;
  text: string;
}

export interface SendOptions {
  /** absolute time (clock.now()) after which no attempt starts and waits end */
  deadline: number;
  signal?: AbortSignal;
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export class Http {
  private nextStart = 0;
  /** whether the latest attempt failed: a server that is down right now gets a short goodbye */
  lastAttemptFailed = false;

  constructor(
    readonly policy: RetryPolicy = DEFAULT_POLICY,
    readonly clock: Clock = REAL_CLOCK,
  ) {}

  /** Equal jitter: half the exponential delay fixed, half random, so retries never bunch up or hammer. */
  backoff(attempt: number): number {
    const cap = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt);
    return cap / 2 + this.clock.random() * (cap / 2);
  }

  private async pace(signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const start = Math.max(now, this.nextStart);
    this.nextStart = start + this.policy.minGapMs;
    if (start > now) await this.clock.sleep(start - now, signal);
  }

  async send(request: HttpRequest, options: SendOptions): Promise<HttpResponse> {
    let lastError: WandbHttpError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw lastError ?? new WandbHttpError(`${request.what}: cancelled`, { retryable: true });
      await this.pace(options.signal);
      const remaining = options.deadline - this.clock.now();
      if (remaining <= 0) throw lastError ?? new WandbHttpError(`${request.what}: out of time`, { retryable: true });
      let waitMs: number | null = null;
      const cutByDeadline = remaining < this.policy.attemptTimeoutMs;
      try {
        return await this.attempt(request, Math.min(this.policy.attemptTimeoutMs, remaining), options.signal);
      } catch (error) {
        if (!(error instanceof AttemptFailed)) throw error;
        // An attempt cut short by the overall deadline says less than the server's last real answer.
        if (error.timedOut && cutByDeadline && lastError) throw lastError;
        lastError = error.error;
        if (!error.error.retryable || options.signal?.aborted) throw error.error;
        waitMs = error.retryAfterMs;
      }
      const delay = waitMs ?? this.backoff(attempt);
      // Waiting past the deadline helps nobody: give up now and leave the data pending.
      if (this.clock.now() + delay >= options.deadline) throw lastError;
      try {
        await this.clock.sleep(delay, options.signal);
      } catch {
        throw lastError;
      }
    }
  }

  private async attempt(request: HttpRequest, timeoutMs: number, signal?: AbortSignal): Promise<HttpResponse> {
    const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body as BodyInit }),
        signal: combined,
      });
      text = await response.text();
    } catch (cause) {
      this.lastAttemptFailed = !signal?.aborted;
      const why = timeout.aborted ? `no answer within ${Math.round(timeoutMs)} ms` : signal?.aborted ? 'cancelled' : networkReason(cause);
      throw new AttemptFailed(new WandbHttpError(`${request.what}: ${why}`, { retryable: true, cause }), null, timeout.aborted);
    }
    const retryable = response.status === 429 || response.status >= 500;
    this.lastAttemptFailed = retryable;
    if (response.status >= 200 && response.status < 300) return { status: response.status, text };
    const excerpt = text.replace(/\s+/g, ' ').slice(0, 200);
    throw new AttemptFailed(
      new WandbHttpError(`${request.what}: HTTP ${response.status}${excerpt ? ` ${excerpt}` : ''}`, { status: response.status, retryable }),
      retryable ? retryAfterMs(response.headers.get('retry-after'), this.clock.now()) : null,
    );
  }
}

class AttemptFailed extends Error {
  constructor(
    readonly error: WandbHttpError,
    readonly retryAfterMs: number | null,
    readonly timedOut = false,
  ) {
    super(error.message);
  }
}

function networkReason(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } })?.cause;
  return inner?.code ?? inner?.message ?? (cause instanceof Error ? cause.message : String(cause));
}

/**
 * Tuning through the environment (HARNESS_WANDB_BACKOFF_MS, HARNESS_WANDB_MAX_BACKOFF_MS,
 * HARNESS_WANDB_ATTEMPT_TIMEOUT_MS, HARNESS_WANDB_MIN_GAP_MS), for slow links and for tests that must
 * not wait out production backoffs. Unset or invalid values keep the defaults.
 */
export function policyFromEnv(env: NodeJS.ProcessEnv): Partial<RetryPolicy> {
  const read = (name: string): number | undefined => {
    const value = Number(env[name]);
    return env[name] !== undefined && env[name] !== '' && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const policy: Partial<RetryPolicy> = {};
  const base = read('HARNESS_WANDB_BACKOFF_MS');
  const max = read('HARNESS_WANDB_MAX_BACKOFF_MS');
  const attempt = read('HARNESS_WANDB_ATTEMPT_TIMEOUT_MS');
  const gap = read('HARNESS_WANDB_MIN_GAP_MS');
  if (base !== undefined) policy.baseDelayMs = base;
  if (max !== undefined) policy.maxDelayMs = max;
  if (attempt !== undefined) policy.attemptTimeoutMs = attempt;
  if (gap !== undefined) policy.minGapMs = gap;
  return policy;
}
