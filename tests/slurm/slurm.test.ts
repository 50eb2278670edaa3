// `harness export slurm --submit` on a real single-node SLURM (Debian slurm-wlm + munge, started in a temp
// folder): a job array of fixture-trainer runs completing into one store, and a task requeued mid-training
// (as on preemption) resuming from its checkpoint without duplicate steps.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { harness } from '../helpers/cli.ts';
import { experimentYaml, FIXTURE_SCRIPT, metricSteps, readEvents, workspace, type Workspace } from '../training/helpers.ts';
import { cancelJob, scontrol, squeue, startCluster, stopCluster, taskOutputs, waitJobDone, waitUntil, type Cluster } from './cluster.ts';

const ALL_STEPS = Array.from({ length: 12 }, (_, i) => i + 1);
const WAIT_MS = 120_000;

let cluster: Cluster | undefined;

beforeAll(async () => {
  cluster = await startCluster();
}, 90_000);

// before the workspaces of the test are removed: a failed test leaves no task running
const submitted: string[] = [];
afterEach(async () => {
  for (const jobId of submitted.splice(0)) await cancelJob(cluster!, jobId);
}, 60_000);

afterAll(async () => {
  await stopCluster(cluster);
}, 60_000);

/** The fixture workspace, with an experiment of this name and these variants (YAML lines under variants:). */
async function slurmWorkspace(name: string, variants: string[]): Promise<Workspace> {
  const ws = await workspace();
  let yaml = experimentYaml().replace('name: fixture-exp', `name: ${name}`);
  yaml = yaml.replace(/variants:\n(  .*\n)+/, variants.length ? `variants:\n${variants.map((line) => `  ${line}\n`).join('')}` : '');
  await writeFile(ws.experiment, yaml);
  return ws;
}

/** `harness export slurm … --submit`; the job inherits this environment (sbatch's default --export=ALL). */
async function submit(ws: Workspace, env: Record<string, string> = {}): Promise<{ jobId: string; tasks: { index: number; variant: string; id: string }[] }> {
  const runArgs = `--model ${ws.model} --vae ${ws.vae} --no-preflight --until train`;
  const result = await harness(['export', 'slurm', ws.experiment, '--store', ws.store, '--gpus-per-task', '0', '--script', FIXTURE_SCRIPT, '--run-args', runArgs, '--submit', '--json'], {
    cwd: ws.root,
    env: { ...ws.env, ...cluster!.env, ...env },
  });
  expect(result.exitCode, result.stderr).toBe(0);
  const json = JSON.parse(result.stdout);
  expect(json.jobId).toMatch(/^\d+$/);
  submitted.push(json.jobId);
  return json;
}

async function runDirs(experimentDir: string): Promise<string[]> {
  return (await readdir(experimentDir)).filter((name) => name !== '_slurm').sort().map((name) => path.join(experimentDir, name));
}

const json = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

describe('SLURM job array (real slurmctld + slurmd)', () => {
  it('a 3-task array trains every planned run exactly once into one store', async () => {
    const ws = await slurmWorkspace('slurm-array', ['accum:', '  gradient_accumulation_steps: 2', 'lr-low:', '  learning_rate: 5.0e-5']);
    const experimentDir = path.join(ws.store, 'slurm-array');
    const outputs = path.join(experimentDir, '_slurm');
    const { jobId, tasks } = await submit(ws);
    expect(tasks.map((t) => t.variant)).toEqual(['baseline', 'accum', 'lr-low']);
    const states = await waitJobDone(cluster!, jobId, 3, WAIT_MS, [outputs]);
    expect(states.map((t) => [t.ArrayTaskId, t.JobState, t.ExitCode]).sort()).toEqual([
      ['0', 'COMPLETED', '0:0'],
      ['1', 'COMPLETED', '0:0'],
      ['2', 'COMPLETED', '0:0'],
    ]);

    const dirs = await runDirs(experimentDir);
    expect(dirs).toHaveLength(3);
    const trained: Record<string, string> = {};
    for (const dir of dirs) {
      const status = await json(path.join(dir, 'status.json'));
      expect(status.state, dir).toBe('trained');
      trained[status.variant] = status.runId;
      const events = await readEvents(dir);
      expect(events.filter((e) => e.type === 'start')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'resume')).toHaveLength(0);
      expect(metricSteps(events)).toEqual(ALL_STEPS);
      expect(events.filter((e) => e.type === 'weights_saved')).toHaveLength(1);
    }
    // task i trained run i of the plan, and wrote its own output file
    for (const task of tasks) {
      const out = await readFile(path.join(outputs, `${jobId}_${task.index}.out`), 'utf8');
      expect(out).toContain(`trained ${trained[task.variant]}:`);
      // the ids `export slurm --script` lists are the ids the tasks trained
      expect(task.id).toBe(trained[task.variant]);
    }
  }, 300_000);

  it('a task requeued mid-training (preemption) resumes from its checkpoint: every step once', async () => {
    const ws = await slurmWorkspace('slurm-requeue', []);
    const experimentDir = path.join(ws.store, 'slurm-requeue');
    const outputs = path.join(experimentDir, '_slurm');
    const { jobId, tasks } = await submit(ws, { FIXTURE_STEP_SECONDS: '0.5' });
    expect(tasks).toHaveLength(1);
    const task = `${jobId}_0`;

    const runDir = await waitUntil(cluster!, 'a checkpoint event', async () => {
      const [dir] = await runDirs(experimentDir);
      if (!dir) return undefined;
      return (await readEvents(dir)).some((e) => e.type === 'checkpoint') ? dir : undefined;
    }, WAIT_MS, [outputs]);
    await scontrol(cluster!, ['requeue', task]);

    // the first attempt is over once SLURM holds the task pending again
    await waitUntil(cluster!, `${task} pending again, its run marked interrupted`, async () => {
      const pending = (await squeue(cluster!, ['-j', jobId, '-o', '%T'])).trim() === 'PENDING';
      const status = await json(path.join(runDir, 'status.json'));
      return pending && status.state === 'failed' && status.reason === 'interrupted' ? true : undefined;
    }, WAIT_MS, [outputs]);
    const interrupted = await readEvents(runDir);
    expect(interrupted.at(-1)).toMatchObject({ type: 'end', status: 'interrupted' });
    expect(metricSteps(interrupted).length).toBeLessThan(ALL_STEPS.length);

    // SLURM holds a requeued job until its old credential expires (AuthInfo cred_expire, 120 s by
    // default); a preempted job waits just the same, so the test shortens that wait. slurmd refuses a
    // new credential stamped in the same second as the revocation of the old one (whole seconds), so
    // the new start must fall in a later second than the requeue.
    await new Promise((resolve) => setTimeout(resolve, 1_050 - (Date.now() % 1_000)));
    await scontrol(cluster!, ['update', `JobId=${task}`, 'StartTime=now']);
    const [state] = await waitJobDone(cluster!, jobId, 1, WAIT_MS, [outputs]);
    expect(state, `${JSON.stringify(state)}\n${await taskOutputs([outputs])}`).toMatchObject({ JobState: 'COMPLETED', ExitCode: '0:0', Restarts: '1' });
    expect(await json(path.join(runDir, 'status.json'))).toMatchObject({ state: 'trained' });
    const events = await readEvents(runDir);
    expect(events.filter((e) => e.type === 'start').map((e) => e.attempt)).toEqual([1, 2]);
    const resumes = events.filter((e) => e.type === 'resume');
    expect(resumes).toHaveLength(1);
    // the newest checkpoint the first attempt reported complete, not just any
    const reported = interrupted.filter((e) => e.type === 'checkpoint').map((e) => e.step as number);
    expect(resumes[0].from_step).toBe(Math.max(...reported));
    expect(metricSteps(events)).toEqual(ALL_STEPS);
    expect(events.filter((e) => e.type === 'weights_saved')).toHaveLength(1);
    expect((await runDirs(experimentDir)).length).toBe(1);

    // --open-mode=append: one output file holds both attempts
    const out = await readFile(path.join(outputs, `${task}.out`), 'utf8');
    expect(out).toMatch(/DUE TO JOB REQUEUE/);
    expect(out).toContain(`resumed from ${path.join(runDir, 'output', `checkpoint-${resumes[0].from_step}`)}`);
  }, 300_000);
});
