// What every Hub call needs (endpoint, token, retrying fetch), and one translation of the
// library's errors into RemoteError with the repo named and what to do.
import { HubApiError } from '@huggingface/hub';
import { HarnessError, RemoteError } from '../errors.ts';
import { hubUrlFromEnv, redact, resolveToken, type HubToken } from './auth.ts';
import { retryingFetch, retryOptionsFromEnv, type RetryOptions } from './retry-fetch.ts';

export type RepoType = 'model' | 'dataset';

export interface RepoRef {
  type: RepoType;
  /** "org/name" */
  id: string;
}

export interface HubContext {
  hubUrl: string;
  token: HubToken | null;
  fetch: typeof fetch;
  retries: number;
}

export async function hubContext(env: NodeJS.ProcessEnv, overrides: { hubUrl?: string; token?: string | null; retry?: Partial<RetryOptions> } = {}): Promise<HubContext> {
  const token = overrides.token === undefined ? await resolveToken(env) : overrides.token ? { token: overrides.token, source: 'the caller' } : null;
  const retry = { ...retryOptionsFromEnv(env), ...overrides.retry };
  return { hubUrl: overrides.hubUrl ?? hubUrlFromEnv(env), token, fetch: retryingFetch(retry), retries: retry.retries };
}

/** The parameters every @huggingface/hub function takes. */
export function libParams(ctx: HubContext): { hubUrl: string; accessToken?: string; fetch: typeof fetch } {
  return { hubUrl: ctx.hubUrl, fetch: ctx.fetch, ...(ctx.token ? { accessToken: ctx.token.token } : {}) };
}

export function libRepo(repo: RepoRef): { type: RepoType; name: string } {
  return { type: repo.type, name: repo.id };
}

export function describeRepo(repo: RepoRef): string {
  return repo.type === 'dataset' ? `dataset ${repo.id}` : `model ${repo.id}`;
}

export function repoUrl(ctx: HubContext, repo: RepoRef): string {
  return `${ctx.hubUrl}/${repo.type === 'dataset' ? 'datasets/' : ''}${repo.id}`;
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof HubApiError ? error.statusCode : undefined;
}

/** Turns whatever a Hub call threw into a RemoteError (exit 3) that names the repo and the way out. */
export function toRemoteError(error: unknown, ctx: HubContext, what: { repo: RepoRef; action: string; write?: boolean }): HarnessError {
  if (error instanceof HarnessError) return error;
  const token = ctx.token?.token;
  const name = describeRepo(what.repo);
  const detail = redact(error instanceof Error ? error.message : String(error), token).replace(/\. URL: .*$/, '');
  const status = statusOf(error);
  const tokenWord = ctx.token ? `the token from ${ctx.token.source}` : 'no token (HF_TOKEN unset, no token file)';
  switch (status) {
    case 401:
      return new RemoteError(`${what.action}: the Hub refused ${name} (401 ${detail}); ${tokenWord}`, {
        status,
        hint: ctx.token
          ? `check that ${what.repo.id} exists and that the token can see it (private or gated repos need access); a revoked token gives 401 too`
          : `if ${what.repo.id} is private or gated, set HF_TOKEN=hf_… or run \`hf auth login\`; otherwise check the repo id`,
        cause: error,
      });
    case 403:
      return new RemoteError(`${what.action}: the Hub forbids this on ${name} (403 ${detail}); ${tokenWord}`, {
        status,
        hint: what.write
          ? `use a token with the "write" role for the ${what.repo.id.split('/')[0]} namespace (https://huggingface.co/settings/tokens)`
          : `accept the licence on ${ctx.hubUrl}/${what.repo.type === 'dataset' ? 'datasets/' : ''}${what.repo.id} if it is gated, or use a token that can read it`,
        cause: error,
      });
    case 404:
      return new RemoteError(`${what.action}: not found on the Hub: ${name} (404 ${detail})`, {
        status,
        hint: `check the repo id "${what.repo.id}", the commit or path; private repos of others also answer 404`,
        cause: error,
      });
    default:
      break;
  }
  if (status !== undefined && status >= 500) {
    return new RemoteError(`${what.action}: the Hub keeps failing for ${name} (${status} ${detail}) after ${ctx.retries} retries`, {
      status,
      hint: 'the Hub may be down (https://status.huggingface.co); run the command again later: finished files are kept',
      cause: error,
    });
  }
  if (status !== undefined) {
    return new RemoteError(`${what.action}: the Hub answered ${status} for ${name}: ${detail}`, { status, cause: error });
  }
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (error instanceof TypeError && /fetch failed/i.test(error.message)) {
    return new RemoteError(`${what.action}: cannot reach the Hub at ${ctx.hubUrl} (${cause?.code ?? cause?.message ?? 'network error'})`, {
      hint: 'check the network, or HF_ENDPOINT if you use a mirror; the command can be run again and resumes',
      cause: error,
    });
  }
  return new RemoteError(`${what.action} (${name}): ${detail}`, { cause: error });
}
