// W&B's HTTP protocol, the part the harness needs: UpsertBucket (create/resume a run), CreateRunFiles
// + PUT (files), file_stream (history, summary, uploaded files, heartbeats, complete). The one module
// that knows the wire format.
import type { Credentials } from '../mode.ts';
import { CREATE_RUN_FILES, UPSERT_BUCKET } from './queries.ts';
import { hostOf, Http, WandbHttpError, type SendOptions } from './http.ts';

const USER_AGENT = 'harness (W&B HTTP protocol)';

export interface UpsertRunInput {
  name: string;
  project: string;
  entity: string | null;
  groupName: string;
  displayName: string;
  jobType: string;
  tags: string[];
  sweep: string | null;
  /** `{"key": {"value": …}}` */
  config: Record<string, { value: unknown }>;
  host?: string;
  program?: string;
  notes?: string;
}

export interface RunRef {
  entity: string;
  project: string;
  name: string;
}

export interface FileStreamBody {
  files?: Record<string, { offset: number; content: string[] }>;
  complete?: boolean;
  exitcode?: number;
  uploaded?: string[];
}

/** Where people see a run: the web app beside the API (api.wandb.ai → wandb.ai; a self-managed server serves both). */
export function runUrl(baseUrl: string, run: RunRef): string {
  let app = baseUrl.replace(/\/+$/, '');
  try {
    const url = new URL(app);
    if (url.hostname.startsWith('api.')) url.hostname = url.hostname.slice('api.'.length);
    app = url.toString().replace(/\/+$/, '');
  } catch {
    // not a URL: leave it as given
  }
  return `${app}/${[run.entity, run.project].map(encodeURIComponent).join('/')}/runs/${encodeURIComponent(run.name)}`;
}

/** What each GraphQL operation does, for error messages in plain words. */
const ACTIVITY: Record<string, string> = {
  UpsertBucket: 'creating the run',
  CreateRunFiles: 'asking for upload URLs',
};

export class WandbClient {
  /** clock time of the latest file_stream request: heartbeats fill the silences after it */
  lastFileStreamAt: number | null = null;

  constructor(
    readonly baseUrl: string,
    private readonly credentials: Credentials,
    readonly http: Http = new Http(),
  ) {}

  /** host[:port] of the API, as error messages name it */
  get host(): string {
    return hostOf(this.baseUrl);
  }

  private async graphql<T>(operation: string, query: string, variables: Record<string, unknown>, options: SendOptions): Promise<T> {
    const activity = ACTIVITY[operation] ?? operation;
    const response = await this.http.send(
      {
        method: 'POST',
        url: `${this.baseUrl}/graphql`,
        headers: { authorization: this.credentials.authorization(), 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: JSON.stringify({ query, variables, operationName: operation }),
        what: activity,
        // the official client retries a 409 on UpsertBucket (about 2 s later): the run is still being made
        retryConflict: operation === 'UpsertBucket',
      },
      options,
    );
    let parsed: { data?: T; errors?: { message?: string }[] };
    try {
      parsed = JSON.parse(response.text) as typeof parsed;
    } catch {
      throw new WandbHttpError(`${this.host} gave an answer that is not JSON while ${activity}`, { status: response.status, retryable: false });
    }
    if (parsed.errors?.length || !parsed.data) {
      const message = parsed.errors?.map((e) => e.message).join('; ') || 'no data';
      throw new WandbHttpError(`${this.host} refused ${activity}: ${message}`, { status: response.status, retryable: false });
    }
    return parsed.data;
  }

  /** Creates the run, or updates it when the name exists (how W&B resumes a run). */
  async upsertRun(input: UpsertRunInput, options: SendOptions): Promise<RunRef> {
    const data = await this.graphql<{ upsertBucket?: { bucket?: { name?: string; project?: { name?: string; entity?: { name?: string } } } } }>(
      'UpsertBucket',
      UPSERT_BUCKET,
      {
        id: null,
        name: input.name,
        project: input.project,
        entity: input.entity,
        groupName: input.groupName,
        description: null,
        displayName: input.displayName,
        notes: input.notes ?? null,
        commit: null,
        config: JSON.stringify(input.config),
        host: input.host ?? null,
        debug: null,
        program: input.program ?? null,
        repo: null,
        jobType: input.jobType,
        state: null,
        sweep: input.sweep,
        tags: input.tags,
        summaryMetrics: null,
      },
      options,
    );
    const bucket = data.upsertBucket?.bucket;
    const entity = bucket?.project?.entity?.name ?? input.entity;
    if (!entity) throw new WandbHttpError(`${this.host} created the run but named no entity for it`, { retryable: false });
    return { entity, project: bucket?.project?.name ?? input.project, name: bucket?.name ?? input.name };
  }

  /** Upload URLs for run files; the PUTs to them carry no credentials. */
  async createRunFiles(run: RunRef, files: string[], options: SendOptions): Promise<{ urls: Map<string, string>; headers: Record<string, string> }> {
    const data = await this.graphql<{ createRunFiles?: { uploadHeaders?: string[] | null; files?: { name: string; uploadUrl: string }[] } }>(
      'CreateRunFiles',
      CREATE_RUN_FILES,
      { entity: run.entity, project: run.project, run: run.name, files },
      options,
    );
    const urls = new Map((data.createRunFiles?.files ?? []).map((f) => [f.name, new URL(f.uploadUrl, `${this.baseUrl}/`).toString()]));
    const headers: Record<string, string> = {};
    for (const header of data.createRunFiles?.uploadHeaders ?? []) {
      const colon = header.indexOf(':');
      if (colon > 0) headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
    }
    return { urls, headers };
  }

  async upload(url: string, bytes: Uint8Array, headers: Record<string, string>, what: string, options: SendOptions): Promise<void> {
    await this.http.send({ method: 'PUT', url, headers: { 'user-agent': USER_AGENT, ...headers }, body: bytes, what: `uploading ${what}` }, options);
  }

  async fileStream(run: RunRef, body: FileStreamBody, options: SendOptions): Promise<void> {
    await this.postStream(run, body, 'sending history', options, false);
  }

  /** `{}` to file_stream: what the official client sends every ~30 s of silence so W&B sees the run alive. */
  async heartbeat(run: RunRef, options: SendOptions): Promise<void> {
    await this.postStream(run, {}, 'sending a heartbeat', options, true);
  }

  private async postStream(run: RunRef, body: FileStreamBody, what: string, options: SendOptions, once: boolean): Promise<void> {
    const parts = [run.entity, run.project, run.name].map(encodeURIComponent);
    this.lastFileStreamAt = this.http.clock.now();
    try {
      await this.http.send(
        {
          method: 'POST',
          url: `${this.baseUrl}/files/${parts.join('/')}/file_stream`,
          headers: { authorization: this.credentials.authorization(), 'content-type': 'application/json', 'user-agent': USER_AGENT },
          body: JSON.stringify(body),
          what,
          once,
        },
        options,
      );
    } finally {
      this.lastFileStreamAt = this.http.clock.now();
    }
  }
}
