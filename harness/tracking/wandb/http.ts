// One HTTP exchange with W&B, robustly and as the official client does it: a fresh request per attempt,
// a per-attempt timeout, backoff with jitter on 429/5xx/network errors (and on 409 where the caller says
// so: UpsertBucket), Retry-After honoured as the least wait (a `Retry-After: 0` never makes a hot loop of
// retries against a failing server), an overall deadline, and no pacing between requests. Nothing
// here logs; errors say what went wrong in plain words and never carry the Authorization header.

export interface RetryPolicy {
  /** first backoff; doubles per attempt (the official client waits about 2 s before its first retry) */
  baseDelayMs: number;
  maxDelayMs: number;
  /** one attempt's limit (a slow answer counts as a failed attempt) */
  attemptTimeoutMs: number;
}

export const DEFAULT_POLICY: RetryPolicy = { baseDelayMs: 2_000, maxDelayMs: 30_000, attemptTimeoutMs: 30_000 };

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
  /** runs `fn` once after `ms`; never keeps the process alive */
  setTimer(fn: () => void, ms: number): Timer;
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
  setTimer: (fn, ms) => {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref?.();
    return { cancel: () => clearTimeout(timer) };
  },
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
  /** what the request does, in words, for error messages: "creating the run", "sending history" */
  what: string;
  /** retry a 409 too (UpsertBucket: the server is still creating the run) */
  retryConflict?: boolean;
  /** one attempt only (heartbeats: the next one comes soon anyway) */
  once?: boolean;
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
  /** whether the latest attempt failed: a server that is down right now gets a short goodbye */
  lastAttemptFailed = false;

  constructor(
    readonly policy: RetryPolicy = DEFAULT_POLICY,
    readonly clock: Clock = REAL_CLOCK,
  ) {}

  /** The doubling delay, ±25 % at random, so retries of parallel uploads never bunch up. */
  backoff(attempt: number): number {
    const delay = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt);
    return delay * (0.75 + 0.5 * this.clock.random());
  }

  async send(request: HttpRequest, options: SendOptions): Promise<HttpResponse> {
    let lastError: WandbHttpError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw lastError ?? new WandbHttpError(`${request.what}: cancelled`, { retryable: true });
      const remaining = options.deadline - this.clock.now();
      if (remaining <= 0) throw lastError ?? new WandbHttpError(`ran out of time before ${request.what}`, { retryable: true });
      let waitMs: number | null = null;
      const cutByDeadline = remaining < this.policy.attemptTimeoutMs;
      try {
        return await this.attempt(request, Math.min(this.policy.attemptTimeoutMs, remaining), options.signal);
      } catch (error) {
        if (!(error instanceof AttemptFailed)) throw error;
        // An attempt cut short by the overall deadline says less than the server's last real answer.
        if (error.timedOut && cutByDeadline && lastError) throw lastError;
        lastError = error.error;
        if (!error.error.retryable || request.once || options.signal?.aborted) throw error.error;
        waitMs = error.retryAfterMs;
      }
      // The server's Retry-After is the earliest retry, never a reason to retry sooner than the backoff.
      const delay = Math.max(waitMs ?? 0, this.backoff(attempt));
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
    const host = hostOf(request.url);
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
      const message = timeout.aborted
        ? `no answer from ${host} within ${seconds(timeoutMs)} while ${request.what}`
        : signal?.aborted
          ? `${request.what}: cancelled`
          : `cannot reach ${host}: ${networkReason(cause)}`;
      throw new AttemptFailed(new WandbHttpError(message, { retryable: true, cause }), null, timeout.aborted);
    }
    const retryable = response.status === 429 || response.status >= 500 || (response.status === 409 && request.retryConflict === true);
    this.lastAttemptFailed = retryable;
    if (response.status >= 200 && response.status < 300) return { status: response.status, text };
    const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    throw new AttemptFailed(
      new WandbHttpError(`${host}: ${statusMeaning(response.status)} (HTTP ${response.status}) while ${request.what}${excerpt ? `: ${excerpt}` : ''}`, {
        status: response.status,
        retryable,
      }),
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

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms)} ms`;
}

function statusMeaning(status: number): string {
  if (status === 400) return 'the request was rejected';
  if (status === 401) return 'the API key was refused';
  if (status === 403) return 'no permission for this entity or project';
  if (status === 404) return 'not found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate limited';
  if (status >= 500) return 'server error';
  return 'unexpected answer';
}

/** What a failed connection means, in words; the system's code stays in brackets for searching. */
function networkReason(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } })?.cause;
  const code = inner?.code ?? (cause as { code?: string })?.code;
  const words: Record<string, string> = {
    ENOTFOUND: 'DNS lookup failed',
    EAI_AGAIN: 'DNS lookup failed (temporarily)',
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection dropped',
    EPIPE: 'connection dropped',
    UND_ERR_SOCKET: 'connection dropped',
    ETIMEDOUT: 'connection timed out',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    ENETUNREACH: 'network unreachable',
    EHOSTUNREACH: 'host unreachable',
    CERT_HAS_EXPIRED: 'TLS certificate expired',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
    SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted',
  };
  if (code && words[code]) return `${words[code]} (${code})`;
  if (code) return code;
  return inner?.message ?? (cause instanceof Error ? cause.message : String(cause));
}

/** A millisecond setting from the environment: a finite number ≥ 0 (> 0 unless `zero`), else undefined (unset, empty or invalid). */
export function envMs(env: NodeJS.ProcessEnv, name: string, options: { zero: boolean }): number | undefined {
  const text = env[name];
  const value = Number(text);
  return text !== undefined && text !== '' && Number.isFinite(value) && (options.zero ? value >= 0 : value > 0) ? value : undefined;
}

/**
 * Tuning through the environment (HARNESS_WANDB_BACKOFF_MS, HARNESS_WANDB_MAX_BACKOFF_MS,
 * HARNESS_WANDB_ATTEMPT_TIMEOUT_MS), for slow links and for tests that must not wait out production
 * backoffs. Unset or invalid values keep the defaults.
 */
export function policyFromEnv(env: NodeJS.ProcessEnv): Partial<RetryPolicy> {
  const read = (name: string) => envMs(env, name, { zero: true });
  const policy: Partial<RetryPolicy> = {};
  const base = read('HARNESS_WANDB_BACKOFF_MS');
  const max = read('HARNESS_WANDB_MAX_BACKOFF_MS');
  const attempt = read('HARNESS_WANDB_ATTEMPT_TIMEOUT_MS');
  if (base !== undefined) policy.baseDelayMs = base;
  if (max !== undefined) policy.maxDelayMs = max;
  if (attempt !== undefined) policy.attemptTimeoutMs = attempt;
  return policy;
}
