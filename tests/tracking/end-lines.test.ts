// Nothing fails silently: `run` and `sweep` end with one line per run whose W&B mirror is behind (what,
// why in plain words, the command that sends it later), `status` shows the last W&B error, and the run's
// W&B address is said when the run is created. The run command is the real CLI with the fixture trainer.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { FakeWandb } from '../fixtures/wandb-server/server.ts';
import { renderSweep } from '../../harness/cli/sweep.ts';
import type { Io } from '../../harness/cli/io.ts';
import { makeStyle } from '../../harness/cli/style.ts';
import type { SweepResult } from '../../harness/sweep/sweep.ts';
import { mirrorBacklog, syncCommand } from '../../harness/tracking/backlog.ts';
import { FAST_ENV, fakeWandb, KEY, startMirror } from './helpers.ts';
import { makeRunFolder } from './run-folder.ts';
import { runArgs, workspace } from '../training/helpers.ts';

let server: FakeWandb | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function plainIo(): Io {
  return { cwd: '/', env: {}, stdout: { write: () => true }, stderr: { write: () => true }, style: makeStyle(false, { NO_COLOR: '1' }) };
}

async function closedPort(): Promise<number> {
  const placeholder = await fakeWandb();
  const port = Number(new URL(placeholder.url).port);
  await placeholder.close();
  return port;
}

describe('the end of `harness run`', () => {
  it('names a run whose mirror is behind, why in plain words, and the sync command; status shows the error; sync sends it later', async () => {
    const port = await closedPort();
    const ws = await workspace();
    const env = { ...ws.env, ...FAST_ENV, HARNESS_WANDB_FINISH_MS: '300', WANDB_API_KEY: KEY, WANDB_BASE_URL: `http://127.0.0.1:${port}`, WANDB_PROJECT: 'fixture-proj' };
    const args = runArgs(ws).filter((a) => a !== '--json');
    const run = await harness(args, { cwd: ws.root, env, timeout: 120_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const last = run.stdout.trim().split('\n').at(-1)!;
    const runId = /W&B behind (baseline-[0-9a-f]{8}):/.exec(last)?.[1];
    expect(runId).toBeDefined();
    expect(last).toBe(
      `W&B behind ${runId}: 12 rows and the end of the run not sent: cannot reach 127.0.0.1:${port}: connection refused (ECONNREFUSED); send later: harness sync ${ws.experiment} --run ${runId} --store ${ws.store}`,
    );

    const status = await harness(['status', ws.experiment, '--store', ws.store, '--dataset', path.join(ws.root, 'data')], { cwd: ws.root, env });
    expect(status.stdout).toContain(`pending (12 rows, 0 files): cannot reach 127.0.0.1:${port}: connection refused`);

    server = await fakeWandb(port);
    const sync = await harness(['sync', ws.experiment, '--run', runId!, '--store', ws.store], { cwd: ws.root, env });
    expect(sync.exitCode, sync.stderr).toBe(0);
    const wandbRun = server.run(runId!)!;
    expect(wandbRun.history).toHaveLength(12);
    expect(wandbRun).toMatchObject({ complete: true, exitcode: 0 });
    const again = await harness(['status', ws.experiment, '--store', ws.store, '--dataset', path.join(ws.root, 'data')], { cwd: ws.root, env });
    expect(again.stdout).not.toContain('cannot reach');
  });

  it('says where the run is on W&B when it is created, and ends without a W&B line when everything arrived', async () => {
    server = await fakeWandb();
    const ws = await workspace();
    // heartbeats after 250 ms of silence instead of 30 s, so a short training has silences to fill
    const env = { ...ws.env, ...FAST_ENV, HARNESS_WANDB_HEARTBEAT_MS: '250', FIXTURE_STEP_SECONDS: '0.2', WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, WANDB_PROJECT: 'fixture-proj' };
    const run = await harness(runArgs(ws).filter((a) => a !== '--json'), { cwd: ws.root, env, timeout: 120_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const streams = server.requests.filter((r) => r.path.endsWith('/file_stream'));
    const completeAt = streams.findIndex((r) => (r.json as { complete?: boolean }).complete === true);
    expect(completeAt).toBe(streams.length - 1);
    expect(streams.slice(0, completeAt).filter((r) => r.body === '{}').length).toBeGreaterThan(0);
    const runId = /(baseline-[0-9a-f]{8})/.exec(run.stdout)![1]!;
    expect(run.stderr).toContain(`${runId}: W&B run ${server.url}/fake-entity/fixture-proj/runs/${runId}`);
    expect(run.stdout).not.toContain('W&B');
    // the run files the Overview, Files and Logs tabs show, from the store's env.json, command.json and train.log
    const files = server.run(runId)!.files;
    expect([...files.keys()].sort()).toEqual(['config.yaml', 'output.log', 'wandb-metadata.json', 'wandb-summary.json'].concat(files.has('requirements.txt') ? ['requirements.txt'] : []).sort());
    const runDir = path.join(ws.store, 'fixture-exp', runId);
    const env1 = JSON.parse(await readFile(path.join(runDir, 'env.json'), 'utf8'));
    expect(JSON.parse(files.get('wandb-metadata.json')!.toString())).toMatchObject({ host: env1.host, program: expect.stringMatching(/train\.py$/) });
    expect(files.get('output.log')!.length).toBeGreaterThan(0);
  });
});

describe('the end of `harness sweep`', () => {
  it('one line per run W&B lacks something of, offline runs included; none for runs it has', async () => {
    const store = await tempDir();
    const offline = await makeRunFolder(store, { runId: 'baseline-1a2b3c4d' });
    server = await fakeWandb();
    const tracking = { wandb: { project: 'tok-boy-test', mode: 'auto' as const } };
    // mirrored without a key: everything is behind, and offline says why
    await (await startMirror(offline, { HOME: store, WANDB_BASE_URL: server.url })).finish(0);
    const behind = await mirrorBacklog(offline, tracking, { HOME: store });
    expect(behind).toMatchObject({ mode: 'offline', rows: 23, files: 4, unfinished: true });
    expect(behind!.text).toBe('23 rows, 4 files and the end of the run not sent: mirrored offline (no WANDB_API_KEY and no ~/.netrc entry for the API host)');
    const synced = await makeRunFolder(store, { runId: 'lr-low-99aa88bb', variant: 'lr-low', steps: 3, samples: false });
    await (await startMirror(synced, { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url })).finish(0);
    expect(await mirrorBacklog(synced, tracking, { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url })).toBeNull();

    const row = (id: string, wandb?: SweepResult['runs'][number]['wandb']) => ({ id, variant: 'v', outcome: 'done' as const, message: '', gpuSeconds: 1, cpuSeconds: 1, finalLoss: null, peakVramMb: null, secondsPerStep: null, identity: null, worker: 0, ...(wandb ? { wandb } : {}) });
    const result: SweepResult = {
      schemaVersion: 1, experiment: 'tok-boy', storeRoot: store, runs: [row('baseline-1a2b3c4d', behind!), row('lr-low-99aa88bb')], wallSeconds: 2,
      gpu: { workers: 1, busySeconds: 1, idle: [], cpuTailSeconds: 0, seen: null }, report: null, check: null, interrupted: false, failFastStopped: false, warnings: [],
    };
    const text = renderSweep(result, plainIo(), (id) => syncCommand('experiments/tok boy.yaml', id));
    const lines = text.split('\n').filter((l) => l.includes('W&B'));
    expect(lines).toEqual([
      "W&B offline baseline-1a2b3c4d: 23 rows, 4 files and the end of the run not sent: mirrored offline (no WANDB_API_KEY and no ~/.netrc entry for the API host); send later: harness sync 'experiments/tok boy.yaml' --run baseline-1a2b3c4d",
    ]);
  });
});
