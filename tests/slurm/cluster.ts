// A real single-node SLURM for the tests (tests/fixtures/slurm/start.sh), and the few questions the tests
// ask it. Every wait is bounded and, when it runs out, says what SLURM and the tasks logged.
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';

const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'slurm');
export const APT_LINE = 'apt-get install -y slurm-wlm munge';
const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel'];

export interface Cluster {
  dir: string;
  /** SLURM_CONF for every client command and for the harness that calls sbatch */
  env: Record<string, string>;
}

/**
 * Starts a cluster in a new temp folder; throws (never skips) when SLURM is not installed or does not come
 * up. stopCluster removes the folder once the daemons are gone.
 */
export async function startCluster(): Promise<Cluster> {
  const missing: string[] = [];
  for (const name of DAEMONS) {
    const found = await execa('which', [name], { reject: false, env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    if (found.exitCode !== 0) missing.push(name);
  }
  if (missing.length) {
    throw new Error(`SLURM is not installed here (${missing.join(', ')} not found). The SLURM tests need a real single-node cluster: \`${APT_LINE}\` (Debian packages slurm-wlm and munge), run as root.`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'harness-slurm-'));
  const started = await execa('bash', [path.join(FIXTURES, 'start.sh'), dir], { reject: false, timeout: 60_000 });
  if (started.exitCode !== 0) {
    const message = `tests/fixtures/slurm/start.sh failed (exit ${started.exitCode}; it needs root):\n${started.stderr}\n${await logTails(dir)}`;
    await stopCluster({ dir, env: { SLURM_CONF: path.join(dir, 'slurm.conf') } });
    throw new Error(message);
  }
  return { dir, env: { SLURM_CONF: started.stdout.trim() } };
}

/** Cancels what is left, stops the daemons, waits for them to exit, then removes the folder. */
export async function stopCluster(cluster: Cluster | undefined): Promise<void> {
  if (!cluster) return;
  await execa('scancel', ['--user', os.userInfo().username], { env: cluster.env, reject: false });
  await waitUntil(cluster, 'no jobs left', async () => ((await squeue(cluster, [])).trim() === '' ? true : undefined), 15_000, []).catch(() => undefined);
  const pids = await daemonPids(cluster.dir);
  await execa('bash', [path.join(FIXTURES, 'stop.sh'), cluster.dir], { reject: false, timeout: 30_000 });
  // slurmctld saves its state on the way out: removing the folder before it exits would leave files behind
  for (const end = Date.now() + 30_000; pids.some(alive) && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 100));
  await rm(cluster.dir, { recursive: true, force: true });
}

async function daemonPids(dir: string): Promise<number[]> {
  const files = ['slurmd.pid', 'slurmctld.pid', 'munge/munged.pid'].map((name) => path.join(dir, name));
  const texts = await Promise.all(files.map((file) => readFile(file, 'utf8').catch(() => '')));
  return texts.map((text) => Number(text.trim())).filter((pid) => Number.isInteger(pid) && pid > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Cancels a job and waits (bounded) until SLURM no longer lists it: nothing of a failed test keeps running. */
export async function cancelJob(cluster: Cluster, jobId: string): Promise<void> {
  await execa('scancel', [jobId], { env: cluster.env, reject: false });
  await waitJobGone(cluster, jobId, 30_000).catch(() => undefined);
}

export async function squeue(cluster: Cluster, args: string[]): Promise<string> {
  const result = await execa('squeue', ['-h', ...args], { env: cluster.env, reject: false });
  // a job SLURM has already forgotten is "Invalid job id": no longer queued either way
  if (result.exitCode !== 0 && !/invalid job id/i.test(result.stderr)) throw new Error(`squeue ${args.join(' ')}: ${result.stderr}`);
  return result.exitCode === 0 ? result.stdout : '';
}

export async function scontrol(cluster: Cluster, args: string[]): Promise<string> {
  const result = await execa('scontrol', args, { env: cluster.env, reject: false });
  if (result.exitCode !== 0) throw new Error(`scontrol ${args.join(' ')} (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** `KEY=value` fields of each array task of a job (`scontrol -o show job`), while SLURM still holds it. */
export async function jobTasks(cluster: Cluster, jobId: string): Promise<Record<string, string>[]> {
  const text = await scontrol(cluster, ['-o', 'show', 'job', jobId]);
  return text
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(/\s+/).map((field) => [field.slice(0, field.indexOf('=')), field.slice(field.indexOf('=') + 1)])));
}

/** Polls `probe` every 200 ms until it returns a value; after `ms`, fails with the logs of SLURM and the tasks. */
export async function waitUntil<T>(cluster: Cluster, what: string, probe: () => Promise<T | undefined>, ms: number, outputDirs: string[]): Promise<T> {
  const end = Date.now() + ms;
  let lastError = '';
  while (Date.now() < end) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const queue = await squeue(cluster, ['-o', '%i %T %r']).catch((error) => String(error));
  throw new Error(
    `timed out after ${ms / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}\nsqueue:\n${queue}\n${await logTails(cluster.dir)}\n${await taskOutputs(outputDirs)}`,
  );
}

const FINISHED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED']);

/**
 * Waits until the queue no longer lists the job and SLURM reports each of its `tasks` array tasks in a
 * final state; returns those records. (squeue alone is not enough: around a requeue it can briefly answer
 * "Invalid job id" for a job that is about to run again.)
 */
export async function waitJobDone(cluster: Cluster, jobId: string, tasks: number, ms: number, outputDirs: string[]): Promise<Record<string, string>[]> {
  return waitUntil(cluster, `the ${tasks} tasks of job ${jobId} to finish`, async () => {
    if ((await squeue(cluster, ['-j', jobId])).trim() !== '') return undefined;
    const records = await jobTasks(cluster, jobId);
    return records.length === tasks && records.every((task) => FINISHED.has(task.JobState!)) ? records : undefined;
  }, ms, outputDirs);
}

async function waitJobGone(cluster: Cluster, jobId: string, ms: number): Promise<void> {
  await waitUntil(cluster, `job ${jobId} to leave the queue`, async () => ((await squeue(cluster, ['-j', jobId])).trim() === '' ? true : undefined), ms, []);
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch((error) => `(${(error as NodeJS.ErrnoException).code})`);
  return `--- ${file}\n${text.split('\n').slice(-lines).join('\n')}`;
}

export async function logTails(dir: string): Promise<string> {
  return (await Promise.all(['slurmctld.log', 'slurmd.log', 'munge/munged.log'].map((name) => tail(path.join(dir, name))))).join('\n');
}

export async function taskOutputs(dirs: string[]): Promise<string> {
  const parts: string[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) parts.push(await tail(path.join(dir, name), 40));
  }
  return parts.join('\n') || '(no task output files)';
}
