import { readFile, readdir, writeFile, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { HubServer } from '../fixtures/hub-server/server.ts';
import type { RunSpec } from '../../harness/plan/planner.ts';
import { copyExperiment, hubEnv, startHub, TOKENS } from './helpers.ts';
import { planRuns, writeRun } from './run-fixture.ts';

let hub: HubServer;
let machineA: string;
let machineB: string;
let fileA: string;
let fileB: string;
let runs: RunSpec[];
const REPO = 'alice/tok-boy-runs';

const env = (dir: string) => hubEnv(hub, path.join(dir, 'hf'), { HF_TOKEN: TOKENS.alice });

beforeAll(async () => {
  ({ hub } = await startHub());
  machineA = await tempDir();
  machineB = await tempDir();
  fileA = await copyExperiment(machineA);
  fileB = await copyExperiment(machineB);
  runs = await planRuns(machineA, fileA, env(machineA));
  const store = path.join(machineA, 'runs');
  await writeRun(store, runs[0]!, { checkpoint: true });
  await writeRun(store, runs[1]!, { samples: false });
  // a run another process is training right now: not shared
  const busy = await writeRun(store, runs[2]!, { samples: false, state: 'training' });
  await writeFile(path.join(busy.dir, 'lock.json'), JSON.stringify({ schemaVersion: 1, token: 't', pid: process.pid, host: (await import('node:os')).hostname(), purpose: 'train', startedAt: new Date().toISOString(), heartbeatAt: new Date().toISOString() }));
}, 60_000);
afterAll(async () => hub.close());

describe('sharing run folders through a dataset repo', () => {
  it('push --store uploads run folders without checkpoints, locks or runs in progress', async () => {
    const result = await harness(['push', fileA, '--share-runs', '--repo', REPO, '--json'], { cwd: machineA, env: env(machineA) });
    expect(result.exitCode, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ mode: 'store', repoType: 'dataset', created: true });
    expect(out.runs).toEqual([runs[0]!.id, runs[1]!.id].sort());
    expect(out.skipped).toEqual([expect.stringMatching(new RegExp(`^${runs[2]!.id}: in progress`))]);
    const remote = [...hub.files('dataset', REPO).keys()];
    expect(remote).toContain(`tok-boy/${runs[0]!.id}/output/pytorch_lora_weights.safetensors`);
    expect(remote).toContain(`tok-boy/${runs[0]!.id}/spec.json`);
    expect(remote.some((p) => p.includes('checkpoint-'))).toBe(false);
    expect(remote.some((p) => p.endsWith('lock.json'))).toBe(false);

    const again = await harness(['push', fileA, '--share-runs', '--repo', REPO, '--json'], { cwd: machineA, env: env(machineA) });
    expect(JSON.parse(again.stdout)).toMatchObject({ commit: null, uploaded: [] });

    const withCheckpoints = await harness(['push', fileA, '--share-runs', '--repo', REPO, '--with-checkpoints', '--json'], { cwd: machineA, env: env(machineA) });
    expect(JSON.parse(withCheckpoints.stdout).uploaded).toEqual([`tok-boy/${runs[0]!.id}/output/checkpoint-100/optimizer.bin`]);
  });

  it('pull adds missing runs, fills in missing files, and reports conflicts without touching them', async () => {
    const storeB = path.join(machineB, 'runs');
    // machine B finished run 1 itself, with a different status.json; it has run 0 without its scores
    const mine = await writeRun(storeB, runs[1]!, { samples: false });
    await writeFile(mine.status, JSON.stringify({ schemaVersion: 1, state: 'done', runId: runs[1]!.id, note: 'finished on machine B' }));
    const localStatus = await readFile(mine.status, 'utf8');

    const result = await harness(['pull', fileB, '--from', REPO, '--json'], { cwd: machineB, env: env(machineB) });
    expect(result.exitCode).toBe(1);
    const out = JSON.parse(result.stdout);
    const byRun = Object.fromEntries(out.runs.map((r: { run: string }) => [r.run, r]));
    expect(byRun[runs[0]!.id]).toMatchObject({ state: 'added' });
    expect(byRun[runs[1]!.id]).toMatchObject({ state: 'conflict', localState: 'done' });
    // weights, spec, events and env differ too (random bytes per machine); the status file must be among them
    expect(byRun[runs[1]!.id].conflicts).toContain('status.json');
    expect(await readFile(mine.status, 'utf8')).toBe(localStatus);

    // the added run is byte for byte what machine A has, checkpoints excluded
    const a = path.join(machineA, 'runs', 'tok-boy', runs[0]!.id);
    const b = path.join(storeB, 'tok-boy', runs[0]!.id);
    expect(await readFile(path.join(b, 'output', 'pytorch_lora_weights.safetensors'))).toEqual(await readFile(path.join(a, 'output', 'pytorch_lora_weights.safetensors')));
    expect((await readdir(path.join(b, 'output')))).toEqual(['pytorch_lora_weights.safetensors']);
    expect((await readdir(path.join(storeB, 'tok-boy'))).filter((n) => n.startsWith('.'))).toEqual([]);

    // a run missing a file gets it; nothing else is rewritten
    const scoresDir = path.join(b, 'scores');
    const [scoreFile] = await readdir(scoresDir);
    await rm(path.join(scoresDir, scoreFile!));
    const merge = await harness(['pull', fileB, '--from', REPO, '--run', runs[0]!.id, '--json'], { cwd: machineB, env: env(machineB) });
    expect(merge.exitCode, merge.stderr).toBe(0);
    expect(JSON.parse(merge.stdout).runs).toEqual([{ run: runs[0]!.id, state: 'merged', files: 1 }]);
    const human = await harness(['pull', fileB, '--from', REPO], { cwd: machineB, env: env(machineB) });
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toMatch(/1 up-to-date, 1 conflict/);
    expect(human.stdout).toMatch(/conflicts were left untouched/);
  });

  it('pull from a private repo without a token says how to log in', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    await mkdir(path.join(dir, 'hf'), { recursive: true });
    const result = await harness(['pull', file, '--from', REPO], { cwd: dir, env: hubEnv(hub, path.join(dir, 'hf')) });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/dataset alice\/tok-boy-runs/);
    expect(result.stderr).toMatch(/HF_TOKEN/);
  });
});
