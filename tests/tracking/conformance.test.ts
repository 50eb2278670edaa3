// The harness against the official client: the scenarios of the recorded traffic of `wandb` 0.30.0
// (tests/fixtures/wandb-server/official-0.30/, copied from ../shared/reference) replayed through the
// harness's live mirror against the loopback server, and what the server received compared with the
// recording: operations and their fields, file_stream shape, uploaded files, heartbeats, the summary's
// runtime, retries. Time is virtual (the mirror's clock and the server's stamps), so the 70 s silent
// stretch and the back-offs take milliseconds. Where the harness deliberately differs, DIFFERENCES
// names it and the test checks the difference is exactly that.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeWandb, type RecordedRequest } from '../fixtures/wandb-server/server.ts';
import { mirrorRun, type RunMirror } from '../../harness/tracking/mirror.ts';
import { readSpec } from '../../harness/tracking/local.ts';
import { writeJsonAtomic } from '../../harness/store/atomic.ts';
import { runLayout } from '../../harness/store/layout.ts';
import { KEY, ledgerRows, virtualClock, type VirtualClock } from './helpers.ts';
import { EXPERIMENT, makeRunFolder, metricEvent, scoreReport, writeEvents, writeSampleSet } from './run-folder.ts';

/** Where the harness does not do what the official client does, on purpose. */
const DIFFERENCES = {
  operations: {
    Viewer: 'the entity comes from the UpsertBucket answer; no login round trip',
    ServerFeaturesQuery: 'the harness uses no optional server feature',
    OrganizationCoreWeaveOrganizationID: 'a CoreWeave billing probe of the official client',
    RunResumeStatus: 'the local store knows what the server acknowledged (file_stream offsets)',
  },
  streamedFiles: {
    'wandb-events.jsonl': 'system metrics of the Python process: the harness reports GPU memory per step in history instead',
    'output.log': 'not streamed line by line; train.log is uploaded as output.log when the run completes',
  },
  metadataKeys: {
    email: 'the harness never asks who the key belongs to',
    writerId: 'an id of the official client process',
    cpu_count: 'env.json does not record CPUs, memory or disks',
    cpu_count_logical: 'idem',
    disk: 'idem',
    memory: 'idem',
  },
  configWandbKeys: {
    cli_version: 'describes the official client',
    python_version: 'describes the official client (the trainer\'s Python is in env and wandb-metadata.json)',
    t: 'the official client\'s telemetry',
    e: 'the environment, which the harness puts in wandb-metadata.json and config `env`',
  },
  upsert: {
    host: 'null: the run is created before the trainer writes env.json; the host is in wandb-metadata.json',
    program: '"harness" rather than a script path',
    tags: 'the GPU name is a tag besides the variant',
  },
  userAgent: 'the harness names itself, not wandb-core',
  images: 'one image-file per prompt key (samples/<prompt>) instead of one images/separated list: one chart per scene',
  resumeUploads: 'run files whose content the server already has are not uploaded again',
  backoff: 'the harness doubles its wait per attempt (2, 4, 8 s, ±25 %, at most 30 s); the official client waited 2.2, 3 and 3 s',
};

interface Recorded {
  t: number;
  method: string;
  path: string;
  op: string | undefined;
  variables: Record<string, unknown> | undefined;
  json: Record<string, unknown> | undefined;
  text: string | undefined;
  status: number;
  headers: Record<string, string>;
}

function recording(name: string): Recorded[] {
  const file = path.join(REPO, 'tests/fixtures/wandb-server/official-0.30', `official-${name}.jsonl`);
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((r) => !r.path.startsWith('/sdk/otel/')) // the official client's own telemetry probe
    .map((r) => ({ t: Date.parse(r.t), method: r.method, path: r.path, op: r.gqlOp ?? undefined, variables: r.gqlVars ?? undefined, json: r.body?.json, text: r.body?.text, status: r.status, headers: r.headers }));
}

type Streamed = { files?: Record<string, { offset: number; content: string[] }>; uploaded?: string[]; complete?: boolean; exitcode?: number };

const isStream = (r: { path: string }) => r.path.endsWith('/file_stream');
const official = (rs: Recorded[]) => ({
  ops: rs.filter((r) => r.op).map((r) => r.op!),
  streams: rs.filter(isStream).map((r) => r.json as Streamed),
  uploads: new Map(rs.filter((r) => r.method === 'PUT').map((r) => [r.path.split('|')[1]!, r])),
});
const harnessSide = (rs: RecordedRequest[]) => ({
  ops: rs.filter((r) => r.op).map((r) => r.op!),
  streams: rs.filter((r) => isStream(r) && r.status === 200).map((r) => r.json as Streamed),
  uploads: new Map(rs.filter((r) => r.method === 'PUT' && r.status === 200).map((r) => [r.path.split('/').slice(5).join('/'), r])),
});

let server: FakeWandb | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Live {
  clock: VirtualClock;
  runDir: string;
  mirror: RunMirror;
  notices: string[];
}

async function startLive(store: string, runId: string, clock: VirtualClock, fresh = true): Promise<Live> {
  server ??= await new FakeWandb({ apiKey: KEY, entity: 'me', now: () => clock.now() }).start();
  const runDir = fresh ? await makeRunFolder(store, { runId, steps: 0, samples: false, state: 'training' }) : runLayout(store, EXPERIMENT, runId).dir;
  const at = new Date(clock.now()).toISOString();
  await writeJsonAtomic(runLayout(store, EXPERIMENT, runId).status, { runId, variant: 'baseline', state: 'training', updatedAt: at, history: [{ state: 'training', at }] });
  const notices: string[] = [];
  const mirror = mirrorRun({
    runDir,
    spec: (await readSpec(runDir))!,
    experimentConfig: { name: EXPERIMENT, tracking: { wandb: { project: 'tok-boy', mode: 'auto' } } },
    env: { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, WANDB_ENTITY: 'me' },
    options: { group: 'sweep-1', notify: (line) => notices.push(line), sink: { clock } },
  });
  // the run is created at once, before anything is logged; its first shipment ends with a file_stream request
  const before = server.requests.length;
  await settled(() => server!.requests.slice(before).some((r) => r.op === 'UpsertBucket' && r.status === 200) && server!.requests.slice(before).some((r) => isStream(r)));
  return { clock, runDir, mirror, notices };
}

/** Waits in real time, virtual time standing still, for what the mirror is doing now to reach the server. */
async function settled(condition: () => boolean): Promise<void> {
  await vi.waitFor(
    () => {
      if (!condition()) throw new Error('not yet');
    },
    { timeout: 10_000, interval: 2 },
  );
}

/** Moves virtual time in small steps until the condition holds (the mirror's timers fire as it goes). */
async function until(clock: VirtualClock, condition: () => boolean, stepMs = 500): Promise<void> {
  await vi.waitFor(
    async () => {
      if (condition()) return;
      await clock.advance(stepMs);
      if (!condition()) throw new Error('not yet');
    },
    { timeout: 10_000, interval: 2 },
  );
}

async function train(live: Live, steps: number[], start = true): Promise<void> {
  const t = live.clock.now() / 1000;
  const events = [...(start ? [{ v: 1, type: 'start', t }] : []), ...steps.map((s, i) => metricEvent(s, t + (i + 1) * 0.01))];
  await writeEvents(live.runDir, events);
  live.mirror.onEvents(events);
}

async function finishRun(live: Live, state: 'done' | 'trained' = 'done'): Promise<void> {
  const layout = runLayout(path.dirname(path.dirname(live.runDir)), EXPERIMENT, path.basename(live.runDir));
  const at = new Date(live.clock.now()).toISOString();
  await writeJsonAtomic(layout.status, { runId: path.basename(live.runDir), variant: 'baseline', state, updatedAt: at, history: [{ state, at }] });
  expect((await live.mirror.finish(0)).error).toBeNull();
}

/** The main scenario: config, group, tags, 20 steps, images, scores as the summary, finish. */
async function mainRun(store: string, clock: VirtualClock): Promise<Live> {
  const live = await startLive(store, 'baseline-7faeccca', clock);
  await writeFile(path.join(live.runDir, 'train.log'), 'loading pipeline\nSteps:  50%|#####     | 10/20\rSteps: 100%|##########| 20/20\ndone\n');
  await train(live, Array.from({ length: 20 }, (_, i) => i + 1));
  await until(clock, () => server!.run('baseline-7faeccca')!.history.length === 20);
  const { manifest, dir } = await writeSampleSet(live.runDir, 'baseline-7faeccca');
  live.mirror.onSampleSet(manifest, dir);
  const report = scoreReport(0.71);
  await writeJsonAtomic(runLayout(store, EXPERIMENT, 'baseline-7faeccca').scores(manifest.setId), report);
  live.mirror.onScores(report, manifest.setId);
  await clock.advance(1_000);
  await finishRun(live);
  return live;
}

describe('conformance with the official client (wandb 0.30.0, recorded)', () => {
  it('one run with config, group, tags, 20 steps, images, a summary and finish: the same operations, fields and file_stream shape', async () => {
    const clock = virtualClock();
    const store = await tempDir();
    const live = await mainRun(store, clock);
    const theirs = official(recording('main'));
    const ours = harnessSide(server!.requests);

    // Operations: ours are theirs less the named ones; nothing the official client does not do.
    expect(new Set(ours.ops)).toEqual(new Set(['UpsertBucket', 'CreateRunFiles']));
    expect([...new Set(theirs.ops)].filter((op) => !ours.ops.includes(op)).sort()).toEqual(Object.keys(DIFFERENCES.operations).filter((op) => theirs.ops.includes(op)).sort());
    expect(server!.requests.every((r) => r.path === '/graphql' || isStream(r) || r.path.startsWith('/upload/'))).toBe(true);

    // UpsertBucket: the same variables, the run's identity in them, config as a JSON string of {key: {value}}.
    const theirUpsert = recording('main').find((r) => r.op === 'UpsertBucket')!.variables!;
    const upserts = server!.requests.filter((r) => r.op === 'UpsertBucket');
    for (const upsert of upserts) expect(Object.keys(upsert.variables!).sort()).toEqual(Object.keys(theirUpsert).sort());
    const ourUpsert = upserts[0]!.variables!;
    for (const key of ['name', 'project', 'entity', 'groupName', 'displayName', 'jobType', 'id', 'description', 'notes', 'commit', 'debug', 'repo', 'state', 'sweep', 'summaryMetrics']) {
      expect(ourUpsert[key], key).toEqual(theirUpsert[key]);
    }
    expect(ourUpsert.tags).toEqual([...(theirUpsert.tags as string[]), 'Tesla P100-PCIE-16GB']); // DIFFERENCES.upsert.tags
    expect(ourUpsert.host).toBeNull(); // DIFFERENCES.upsert.host
    expect(ourUpsert.program).toBe('harness'); // DIFFERENCES.upsert.program
    const theirConfig = JSON.parse(theirUpsert.config as string) as Record<string, { value: Record<string, unknown> }>;
    const ourConfig = JSON.parse(upserts.at(-1)!.variables!.config as string) as Record<string, { value: Record<string, unknown> }>;
    for (const config of [theirConfig, ourConfig]) for (const entry of Object.values(config)) expect(Object.keys(entry)).toEqual(['value']);
    for (const key of ['resolution', 'train_batch_size', 'rank', 'mixed_precision', 'learning_rate']) expect(ourConfig[key], key).toEqual(theirConfig[key]);
    expect(Object.keys(theirConfig._wandb!.value).filter((k) => !(k in ourConfig._wandb!.value)).sort()).toEqual(Object.keys(DIFFERENCES.configWandbKeys).filter((k) => k !== 'e').sort());
    expect(Array.isArray(theirConfig._wandb!.value.m) && Array.isArray(ourConfig._wandb!.value.m)).toBe(true);
    expect(ourConfig._wandb!.value.m).toContainEqual({ '1': 'train/loss', '5': expect.any(Number), '6': [1, 3] });

    // CreateRunFiles: the same variables and the same run files (besides media).
    const theirFiles = recording('main').find((r) => r.op === 'CreateRunFiles')!.variables!;
    const ourFileCalls = server!.requests.filter((r) => r.op === 'CreateRunFiles');
    for (const call of ourFileCalls) expect(Object.keys(call.variables!).sort()).toEqual(Object.keys(theirFiles).sort());
    const runFiles = (names: string[]) => [...new Set(names.filter((n) => !n.startsWith('media/')))].sort();
    expect(runFiles(ourFileCalls.flatMap((c) => c.variables!.files as string[]))).toEqual(runFiles(theirFiles.files as string[]));

    // Uploads: unauthenticated PUTs of the same files; contents shaped as the official ones.
    expect(runFiles([...ours.uploads.keys()])).toEqual(runFiles([...theirs.uploads.keys()]));
    for (const side of [recording('main').filter((r) => r.method === 'PUT'), server!.requests.filter((r) => r.method === 'PUT')]) {
      for (const put of side) expect(put.headers.authorization).toBeUndefined();
    }
    const ourYaml = parseYaml(ours.uploads.get('config.yaml')!.body) as Record<string, unknown>;
    const theirYaml = parseYaml(theirs.uploads.get('config.yaml')!.text!) as Record<string, unknown>;
    for (const yaml of [ourYaml, theirYaml]) for (const entry of Object.values(yaml)) expect(Object.keys(entry as object)).toEqual(['value']);
    expect(ourYaml.rank).toEqual(theirYaml.rank);
    const ourMeta = JSON.parse(ours.uploads.get('wandb-metadata.json')!.body) as Record<string, unknown>;
    const theirMeta = JSON.parse(theirs.uploads.get('wandb-metadata.json')!.text!) as Record<string, unknown>;
    expect(Object.keys(theirMeta).filter((k) => !(k in ourMeta)).sort()).toEqual(Object.keys(DIFFERENCES.metadataKeys).sort());
    expect(ourMeta).toMatchObject({ host: 'gpu-box', python: 'CPython 3.11.7', program: 'python/train.py', executable: '/venv/bin/python', gpu: 'Tesla P100-PCIE-16GB', cudaVersion: '12.4', git: { commit: expect.any(String) } });
    expect(ours.uploads.get('requirements.txt')!.body).toMatch(/^(\S+==\S+\n)+$/);
    expect(theirs.uploads.get('requirements.txt')!.text!).toMatch(/^(\S+==\S+\n)+$/);
    expect(ours.uploads.get('output.log')!.body).toBe('loading pipeline\nSteps: 100%|##########| 20/20\ndone\n');
    const ourSummaryFile = JSON.parse(ours.uploads.get('wandb-summary.json')!.body) as Record<string, unknown>;
    const theirSummaryFile = JSON.parse(theirs.uploads.get('wandb-summary.json')!.text!) as Record<string, unknown>;
    for (const key of ['_wandb', '_runtime', '_step', '_timestamp']) expect(ourSummaryFile, key).toHaveProperty(key);
    expect(Object.keys(ourSummaryFile._wandb as object)).toEqual(Object.keys(theirSummaryFile._wandb as object));

    // file_stream: the same top-level keys, the same file entries ({offset, content: string[]}), rows with
    // _step/_runtime/_timestamp, offsets that continue where the last acknowledged request ended.
    const topKeys = new Set(theirs.streams.flatMap((b) => Object.keys(b)));
    const fileNames = new Set(theirs.streams.flatMap((b) => Object.keys(b.files ?? {})));
    for (const body of ours.streams) {
      for (const key of Object.keys(body)) expect(topKeys).toContain(key);
      for (const [name, file] of Object.entries(body.files ?? {})) {
        expect(fileNames).toContain(name);
        expect(Object.keys(file).sort()).toEqual(['content', 'offset']);
        expect(file.content.every((line) => typeof line === 'string')).toBe(true);
      }
    }
    const notStreamed = [...fileNames].filter((name) => !ours.streams.some((b) => b.files?.[name]));
    expect(notStreamed.sort()).toEqual(Object.keys(DIFFERENCES.streamedFiles).sort());
    let offset = 0;
    for (const body of ours.streams) {
      const history = body.files?.['wandb-history.jsonl'];
      if (!history) continue;
      expect(history.offset).toBe(offset);
      offset += history.content.length;
      for (const line of history.content) expect(JSON.parse(line)).toMatchObject({ _step: expect.any(Number), _runtime: expect.any(Number), _timestamp: expect.any(Number) });
    }
    const run = server!.run('baseline-7faeccca')!;
    expect(run.history).toEqual(await ledgerRows(live.runDir));

    // The last request: what the official one holds (history tail and/or summary, uploaded, complete, exitcode).
    const theirLast = theirs.streams.at(-1)!;
    const ourLast = ours.streams.at(-1)!;
    expect(Object.keys(ourLast).sort()).toEqual(Object.keys(theirLast).sort());
    expect(ourLast).toMatchObject({ complete: true, exitcode: 0 });
    expect(Object.keys(ourLast.files!)).toContain('wandb-summary.json');
    // every uploaded file was named in an acknowledged `uploaded` list, as every official upload was
    expect([...run.announced].sort()).toEqual([...run.files.keys()].sort());
    expect(new Set(theirs.streams.flatMap((b) => b.uploaded ?? []))).toEqual(new Set(theirs.uploads.keys()));

    // The summary: last values plus _wandb.runtime, as the official one.
    const theirSummary = JSON.parse(theirLast.files!['wandb-summary.json']!.content[0]!) as Record<string, unknown>;
    for (const key of ['_wandb', '_runtime', '_step', '_timestamp']) expect(run.summary, key).toHaveProperty(key);
    expect(Object.keys(run.summary!._wandb as object)).toEqual(Object.keys(theirSummary._wandb as object));
    expect(run.summary).toMatchObject({ 'scores/identity': 0.71, 'train/loss': 0.5 / 20 });

    // Images: the official image-file value, key for key (DIFFERENCES.images: one key per prompt).
    const theirImage = Object.values(JSON.parse(official(recording('single-image')).streams.at(-1)!.files!['wandb-history.jsonl']!.content.at(-1)!) as Record<string, unknown>).find(
      (v) => (v as { _type?: string })?._type === 'image-file',
    ) as Record<string, unknown>;
    const ourImage = run.history.map((l) => JSON.parse(l) as Record<string, unknown>).flatMap((row) => Object.values(row)).find((v) => (v as { _type?: string })?._type === 'image-file') as Record<string, unknown>;
    expect(Object.keys(ourImage).sort()).toEqual(Object.keys(theirImage).sort());
    expect(run.files.get(ourImage.path as string)?.length).toBe(ourImage.size);

    // Headers: Basic auth of "api:<key>" on the API, none on uploads; JSON bodies.
    const theirHeaders = recording('main').find((r) => isStream(r))!.headers;
    const ourHeaders = server!.requests.find((r) => isStream(r))!.headers;
    expect(theirHeaders.authorization).toBe('Basic base64(api:<key, 40 chars>)');
    expect(ourHeaders.authorization).toBe(`Basic ${Buffer.from(`api:${KEY}`).toString('base64')}`);
    expect(ourHeaders['content-type']).toBe(theirHeaders['content-type']);
    expect(ourHeaders['user-agent']).not.toBe(theirHeaders['user-agent']); // DIFFERENCES.userAgent

    // The run's address, said once when the run was created.
    expect(live.notices).toEqual([`baseline-7faeccca: W&B run ${server!.url}/me/tok-boy/runs/baseline-7faeccca`]);
  });

  it('a resume: the same run upserted again, history continuing at the server\'s offset, complete again', async () => {
    const clock = virtualClock();
    const store = await tempDir();
    await mainRun(store, clock);
    const before = server!.run('baseline-7faeccca')!.history.length;
    const lastBefore = JSON.parse(server!.run('baseline-7faeccca')!.history.at(-1)!) as { _step: number; _runtime: number };
    const firstRequest = server!.requests.length;
    await clock.advance(3_600_000); // an hour later
    const live = await startLive(store, 'baseline-7faeccca', clock, false);
    await train(live, [21, 22, 23, 24, 25]);
    await until(clock, () => server!.run('baseline-7faeccca')!.history.length === before + 5);
    await finishRun(live);

    const theirs = recording('resume');
    const ours = server!.requests.slice(firstRequest);
    expect(ours.filter((r) => r.op).map((r) => r.op)).not.toContain('RunResumeStatus'); // DIFFERENCES.operations
    const theirUpsert = theirs.find((r) => r.op === 'UpsertBucket')!.variables!;
    const ourUpsert = ours.find((r) => r.op === 'UpsertBucket')!.variables!;
    expect(ourUpsert.name).toBe(theirUpsert.name);
    // the first history request continues at the number of lines the server holds (theirs: 21 after 21)
    const theirFirst = official(theirs).streams.find((b) => b.files?.['wandb-history.jsonl'])!.files!['wandb-history.jsonl']!;
    expect(theirFirst.offset).toBe(21);
    const ourFirst = harnessSide(ours).streams.find((b) => b.files?.['wandb-history.jsonl'])!.files!['wandb-history.jsonl']!;
    expect(ourFirst.offset).toBe(before);
    // steps and runtime go on from where they were (the hour between the processes is not runtime)
    const resumed = ourFirst.content.map((l) => JSON.parse(l) as { _step: number; _runtime: number; 'train/step': number });
    expect(resumed.map((r) => r['train/step'])).toEqual([21, 22, 23, 24, 25]);
    expect(resumed[0]!._step).toBeGreaterThan(lastBefore._step);
    expect(resumed[0]!._runtime).toBeGreaterThanOrEqual(lastBefore._runtime);
    expect(resumed[0]!._runtime).toBeLessThan(lastBefore._runtime + 60);
    const ourLast = harnessSide(ours).streams.at(-1)!;
    expect(Object.keys(ourLast).sort()).toEqual(Object.keys(official(theirs).streams.at(-1)!).sort());
    expect(ourLast).toMatchObject({ complete: true, exitcode: 0 });
    // DIFFERENCES.resumeUploads: unchanged run files stay; the new summary goes up
    expect([...harnessSide(ours).uploads.keys()].sort()).toEqual(['wandb-summary.json']);
    expect([...official(theirs).uploads.keys()].sort()).toEqual(['config.yaml', 'output.log', 'requirements.txt', 'wandb-metadata.json', 'wandb-summary.json']);
    const steps = server!.run('baseline-7faeccca')!.history.map((l) => (JSON.parse(l) as { _step: number })._step);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  it('a 70 s silent stretch: heartbeats at most ~30 s apart, `{}` as the official client sends them, runtime 70 in the summary, none after finish', async () => {
    const clock = virtualClock();
    const store = await tempDir();
    const live = await startLive(store, 'idle-1', clock);
    const created = clock.now();
    await writeEvents(live.runDir, [{ v: 1, type: 'start', t: created / 1000 }]);
    live.mirror.onEvents([{ v: 1, type: 'start', t: created / 1000 }]);
    // a second at a time; when a heartbeat is due, virtual time waits for it to reach the server
    const lastStream = () => Math.max(...server!.requests.filter((r) => isStream(r)).map((r) => r.at));
    for (let s = 0; s < 70; s++) {
      await clock.advance(1_000);
      const last = lastStream();
      if (clock.now() - last >= 30_000) await settled(() => lastStream() > last);
    }
    await train(live, [1, 2], false);
    await finishRun(live);
    const finished = clock.now();

    const theirs = recording('idle');
    const theirCreated = theirs.find((r) => r.op === 'UpsertBucket')!.t;
    const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);
    const theirGaps = gaps([theirCreated, ...theirs.filter(isStream).map((r) => r.t)]);
    const ourGaps = gaps([created, ...server!.requests.filter((r) => isStream(r)).map((r) => r.at)]);
    const theirMax = Math.max(...theirGaps);
    expect(theirMax).toBeGreaterThan(29_000);
    expect(theirMax).toBeLessThanOrEqual(31_000);
    expect(Math.max(...ourGaps)).toBeLessThanOrEqual(Math.max(theirMax, 30_000) + 1_000); // the clock moves in 1 s steps
    const heartbeats = server!.requests.filter((r) => isStream(r) && JSON.stringify(r.json) === '{}');
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(theirs.filter((r) => isStream(r) && JSON.stringify(r.json) === '{}').length).toBeGreaterThanOrEqual(1);

    const theirSummary = JSON.parse(official(theirs).streams.at(-1)!.files!['wandb-summary.json']!.content[0]!) as { _wandb: { runtime: number }; _runtime: number };
    const ourSummary = server!.run('idle-1')!.summary as { _wandb: { runtime: number }; _runtime: number };
    expect(ourSummary._wandb).toEqual(theirSummary._wandb); // { runtime: 70 }
    expect(Math.floor(ourSummary._runtime)).toBe(Math.floor(theirSummary._runtime));

    // the harness stopped: no heartbeat after finish
    const count = server!.requests.length;
    for (let s = 0; s < 10; s++) await clock.advance(15_000);
    expect(server!.requests.length).toBe(count);
    expect(finished).toBeGreaterThanOrEqual(created + 70_000);
  });

  it('injected 409, 429, 5xx and dropped connections: retried as the official client does, every loss row exactly once', async () => {
    const clock = virtualClock();
    server = await new FakeWandb({ apiKey: KEY, entity: 'me', now: () => clock.now() }).start();
    // as in the recording: UpsertBucket 409 then 429 twice; file_stream 503s; 500 on two uploads
    server.inject({ match: { op: 'UpsertBucket' }, times: 1, action: { status: 409 } });
    server.inject({ match: { op: 'UpsertBucket' }, times: 2, action: { status: 429 } });
    server.inject({ match: { path: '/file_stream' }, times: 2, action: { status: 503 } });
    server.inject({ match: { method: 'PUT', path: 'requirements.txt' }, times: 1, action: { status: 500 } });
    server.inject({ match: { method: 'PUT', path: 'config.yaml' }, times: 1, action: { status: 500 } });
    // and connections dropped before and after the server took the request
    server.inject({ match: { path: '/file_stream' }, times: 1, action: { drop: 'after' } });
    server.inject({ match: { method: 'PUT', path: 'media/' }, times: 1, action: { drop: 'before' } });
    const store = await tempDir();
    const live = await mainRun(store, clock);

    const theirs = recording('faults');
    const statuses = (rs: { op?: string | undefined; status: number | string }[]) => rs.filter((r) => r.op === 'UpsertBucket').map((r) => r.status);
    expect(statuses(theirs).slice(0, 4)).toEqual([409, 429, 429, 200]);
    expect(statuses(server.requests).slice(0, 4)).toEqual([409, 429, 429, 200]);
    // the wait after the 409: about 2 s for both
    const waitAfter = (rs: { op?: string | undefined; status: number | string }[], at: (r: never) => number, status: number) => {
      const i = rs.findIndex((r) => r.op === 'UpsertBucket' && r.status === status);
      const next = rs.slice(i + 1).find((r) => r.op === 'UpsertBucket')!;
      return at(next as never) - at(rs[i] as never);
    };
    // (ours: the backoffs the client slept, in order; the UpsertBucket retries come first)
    const theirs409 = waitAfter(theirs, (r: Recorded) => r.t, 409);
    const ours409 = clock.waits[0]!;
    expect(theirs409).toBeGreaterThan(1_500);
    expect(Math.abs(ours409 - theirs409)).toBeLessThan(1_000);
    // 429 and 5xx back off (DIFFERENCES.backoff): never at once, never past the cap
    const theirs429 = waitAfter(theirs, (r: Recorded) => r.t, 429);
    const ours429 = clock.waits[1]!;
    expect(theirs429).toBeGreaterThan(2_000);
    expect(ours429).toBeGreaterThanOrEqual(theirs429);
    expect(ours429).toBeLessThanOrEqual(30_000);
    // each failed upload was sent again, the same bytes
    for (const side of [theirs.map((r) => ({ path: r.path, status: r.status, size: r.text?.length })), server.requests.map((r) => ({ path: r.path, status: r.status, size: r.bytes }))]) {
      for (const name of ['requirements.txt', 'config.yaml']) {
        const attempts = side.filter((r) => r.path.endsWith(name));
        expect(attempts.map((r) => r.status)).toEqual([500, 200]);
        expect(attempts[0]!.size).toBe(attempts[1]!.size);
      }
    }
    // file_stream: retried with the same body until it went through
    const failed = server.requests.filter((r) => isStream(r) && r.status === 503);
    expect(failed.length).toBe(2);
    for (const attempt of failed) expect(server.requests.some((r) => isStream(r) && r.status !== 503 && r.body === attempt.body && r.at > attempt.at)).toBe(true);
    expect(server.requests.filter((r) => r.fault).length).toBe(9);

    // every loss row exactly once, in order; the run complete
    const run = server.run('baseline-7faeccca')!;
    expect(run.history).toEqual(await ledgerRows(live.runDir));
    const lossSteps = run.history.map((l) => JSON.parse(l) as Record<string, number>).filter((r) => 'train/loss' in r).map((r) => r['train/step']);
    expect(lossSteps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(run).toMatchObject({ complete: true, exitcode: 0 });
  });
});
