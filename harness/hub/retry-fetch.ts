// A fetch for the Hub library: retries with exponential backoff on 5xx, 429 and network errors.
// Bodies that cannot be replayed (streams) are sent once.

export interface RetryOptions {
  retries: number;
  /** first delay; doubles each try, with jitter */
  baseDelayMs: number;
  maxDelayMs?: number;
  onRetry?: (info: { url: string; attempt: number; status?: number; error?: string; delayMs: number }) => void;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

export function retryOptionsFromEnv(env: NodeJS.ProcessEnv): RetryOptions {
  // HARNESS_HUB_RETRY_BASE_MS lets tests (and impatient users) shorten the waits.
  const base = Number(env.HARNESS_HUB_RETRY_BASE_MS ?? 1000);
  const retries = Number(env.HARNESS_HUB_RETRIES ?? 4);
  return { retries: Number.isFinite(retries) && retries >= 0 ? retries : 4, baseDelayMs: Number.isFinite(base) && base >= 0 ? base : 1000 };
}

export function retryingFetch(options: RetryOptions, inner: typeof fetch = fetch): typeof fetch {
  const wrapped = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    const replayable = !(init?.body instanceof ReadableStream);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    for (let attempt = 1; ; attempt++) {
      const last = !replayable || attempt > options.retries;
      let response: Response;
      try {
        response = await inner(input, init);
      } catch (error) {
        if (last || init?.signal?.aborted) throw error;
        const delayMs = delay(options, attempt);
        options.onRetry?.({ url: stripQuery(url), attempt, error: (error as Error).message, delayMs });
        await sleep(delayMs);
        continue;
      }
      if (!RETRY_STATUS.has(response.status) || last) return response;
      const delayMs = Math.max(delay(options, attempt), retryAfterMs(response));
      await response.body?.cancel();
      options.onRetry?.({ url: stripQuery(url), attempt, status: response.status, delayMs });
      await sleep(delayMs);
    }
  };
  return wrapped as typeof fetch;
}

function delay(options: RetryOptions, attempt: number): number {
  const raw = options.baseDelayMs * 2 ** (attempt - 1);
  const capped = Math.min(raw, options.maxDelayMs ?? 30_000);
  return Math.round(capped * (0.75 + Math.random() * 0.5));
}

function retryAfterMs(response: Response): number {
  const header = response.headers.get('retry-after');
  const seconds = header ? Number(header) : NaN;
  return Number.isFinite(seconds) ? Math.min(seconds * 1000, 60_000) : 0;
}

function stripQuery(url: string): string {
  return url.split('?')[0] ?? url;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
