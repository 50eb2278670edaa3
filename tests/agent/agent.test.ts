// `harness run --params-json-file` as a W&B sweep agent runs it: the agent's environment variables, the
// parameter file written like ${args_json_file}, the loopback stand-in W&B server, the fixture trainer.
// Stops at --until train: the sampler runs with the training Python (python3 for the fixture trainer),
// and the fixture sampler is a Node script, so one run cannot use both stand-ins.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, harness } from '../helpers/cli.ts';
import type { FakeWandb } from '../fixtures/wandb-server/server.ts';
import { FAST_ENV, fakeWandb, historySteps, KEY } from '../tracking/helpers.ts';
import { experimentYaml, FIXTURE_SCRIPT, metricSteps, readEvents, workspace, type Workspace } from '../training/helpers.ts';

const ALL_STEPS = Array.from({ length: 12 }, (_, i) => i + 1);

let server: FakeWandb | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function agentWorkspace(): Promise<Workspace> {
  const ws = await workspace();
  const yaml = experimentYaml().replace('variants:\n', 'variants:\n  lr-low:\n    learning_rate: 5.0e-5\n');
  expect(yaml).toContain('lr-low');
  await writeFile(ws.experiment, yaml);
  return ws;
}

/** What `wandb agent` sets for a trial (docs: WANDB_RUN_ID, WANDB_SWEEP_ID, WANDB_PROJECT, WANDB_ENTITY). */
function agentEnv(ws: Workspace, runId: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...ws.env,
    ...FAST_ENV,
    WANDB_RUN_ID: runId,
    WANDB_SWEEP_ID: 'sw1',
    WANDB_PROJECT: 'agent-proj',
    WANDB_ENTITY: 'agent-team',
    WANDB_API_KEY: KEY,
    WANDB_BASE_URL: server!.url,
    WANDB_MODE: undefined,
    ...extra,
  };
}

function runArgs(ws: Workspace, selector: string[], store = ws.store): string[] {
  return ['run', ws.experiment, ...selector, '--store', store, '--model', ws.model, '--vae', ws.vae, '--script', FIXTURE_SCRIPT, '--no-preflight', '--until', 'train', '--json'];
}

/** The parameter file as the agent writes it (Python's json.dump: spaces, 5e-05). */
async function paramsFile(ws: Workspace, name: string, text: string): Promise<string> {
  const file = path.join(ws.root, name);
  await writeFile(file, text);
  return file;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('harness run under a W&B sweep agent', () => {
  it('trains the equivalent variant (same run id), names the W&B run after the trial and joins the sweep', async () => {
    server = await fakeWandb();
    const ws = await agentWorkspace();
    const file = await paramsFile(ws, 'args.json', '{"learning_rate": 5e-05}');
    const trial = await harness(runArgs(ws, ['--params-json-file', file]), { cwd: ws.root, env: agentEnv(ws, 'abc123'), timeout: 120_000 });
    expect(trial.exitCode, trial.stderr).toBe(0);
    const result = JSON.parse(trial.stdout);
    expect(result).toMatchObject({ outcome: 'trained', state: 'trained', variant: 'lr-low', tracking: { mode: 'online', error: null } });

    // the same variant named directly, in a store of its own and without W&B: the same id
    const direct = await harness(runArgs(ws, ['--variant', 'lr-low'], path.join(ws.root, 'direct-store')), { cwd: ws.root, env: { ...ws.env, WANDB_MODE: 'disabled' }, timeout: 120_000 });
    expect(direct.exitCode, direct.stderr).toBe(0);
    expect(result.runId).toBe(JSON.parse(direct.stdout).runId);
    expect(result.runId).toMatch(/^lr-low-[0-9a-f]{8}$/);

    const events = await readEvents(result.runDir);
    expect(metricSteps(events)).toEqual(ALL_STEPS);
    const spec = JSON.parse(await readFile(path.join(result.runDir, 'spec.json'), 'utf8'));
    expect(spec.trainer.argv.join(' ')).toMatch(/ --learning_rate 0\.00005( |$)/);

    const upserts = server.requests.filter((r) => r.op === 'UpsertBucket');
    expect(upserts.length).toBeGreaterThan(0);
    for (const upsert of upserts) expect(upsert.variables).toMatchObject({ name: 'abc123', sweep: 'sw1', project: 'agent-proj', entity: 'agent-team' });
    const wandbRun = server.run('abc123')!;
    expect(wandbRun).toMatchObject({ entity: 'agent-team', project: 'agent-proj', sweep: 'sw1', displayName: result.runId, complete: true, exitcode: 0 });
    expect(new Set(historySteps(wandbRun.history))).toEqual(new Set(ALL_STEPS));
    expect(server.runs.size).toBe(1);
  });

  it('SIGTERM from the agent (early stop) stops the trainer, marks the run interrupted and exits 130', async () => {
    server = await fakeWandb();
    const ws = await agentWorkspace();
    const file = await paramsFile(ws, 'args.json', '{"learning_rate": 5e-05, "rank": 8}');
    const child = execa(process.execPath, [BIN, ...runArgs(ws, ['--params-json-file', file])], {
      cwd: ws.root,
      env: { NO_COLOR: '1', HARNESS_STORE: undefined, ...agentEnv(ws, 'def456', { FIXTURE_STEP_SECONDS: '0.3' }) },
      reject: false,
      timeout: 120_000,
    });
    const experimentDir = path.join(ws.store, 'fixture-exp');
    const runDir = await waitFor('the run folder', async () => {
      const { readdir } = await import('node:fs/promises');
      const names = await readdir(experimentDir);
      return names.length ? path.join(experimentDir, names[0]!) : undefined;
    });
    const started = await waitFor('step 3', async () => {
      const events = await readEvents(runDir);
      return metricSteps(events).includes(3) ? events : undefined;
    });
    const trainerPid = started.find((e) => e.type === 'start').pid as number;
    expect(groupAlive(trainerPid)).toBe(true);
    child.kill('SIGTERM');
    const stopped = await child;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(130);
    expect(JSON.parse(String(stopped.stdout))).toMatchObject({ outcome: 'failed', reason: 'interrupted' });
    // the trainer led its own process group: nothing of it is left once the harness has exited
    expect(groupAlive(trainerPid)).toBe(false);
    expect(JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8'))).toMatchObject({ state: 'failed', reason: 'interrupted' });
    const events = await readEvents(runDir);
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'interrupted' });
    expect(metricSteps(events).length).toBeLessThan(ALL_STEPS.length);
    const wandbRun = server.run('def456')!;
    expect(wandbRun).toMatchObject({ sweep: 'sw1', complete: true });
    expect(wandbRun.exitcode).toBe(130); // interrupted, as the harness's own exit code
  });
});
