// Runs one sampler process: its own process group (signals go to the whole group), events from stdout
// appended to the set's events.jsonl, everything else to sample.log. Kept here rather than in
// harness/runner/ because the runner had no generic child helper when this was written.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { appendJsonLine } from '../store/atomic.ts';
import { parseSamplerLine, type SamplerEvent } from './protocol.ts';

export interface SamplerProcessOptions {
  python: string;
  script: string;
  jobFile: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  eventsFile: string;
  onEvent?: (event: SamplerEvent) => void;
  signal?: AbortSignal;
  /** how long SIGTERM gets before SIGKILL */
  killGraceMs?: number;
}

export interface SamplerProcessResult {
  exitCode: number | null;
  signal: string | null;
  aborted: boolean;
  /** the spawn itself failed (no such executable, …) */
  spawnError?: string;
  events: SamplerEvent[];
}

export async function runSamplerProcess(options: SamplerProcessOptions): Promise<SamplerProcessResult> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  await appendFile(options.logFile, `\n=== ${new Date().toISOString()} ${options.python} ${options.script} ${options.jobFile}\n`);
  const events: SamplerEvent[] = [];
  if (options.signal?.aborted) return { exitCode: null, signal: null, aborted: true, events };

  const subprocess = execa(options.python, [options.script, options.jobFile], {
    cwd: options.cwd,
    env: { ...options.env, PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
    extendEnv: false,
    detached: true, // own process group: a signal reaches the sampler and anything it started
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: { file: options.logFile, append: true },
    buffer: false,
    reject: false,
  });

  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    aborted = true;
    signalGroup(subprocess.pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(subprocess.pid, 'SIGKILL'), options.killGraceMs ?? 10_000);
    killTimer.unref();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    for await (const line of subprocess.iterable({ from: 'stdout' })) {
      const event = parseSamplerLine(line);
      if (!event) {
        await appendFile(options.logFile, `${line}\n`);
        continue;
      }
      events.push(event);
      await appendJsonLine(options.eventsFile, event);
      options.onEvent?.(event);
    }
  } catch {
    // The stream ends with an error when the process could not start or was killed; the result says which.
  }
  const result = await subprocess;
  options.signal?.removeEventListener('abort', onAbort);
  if (killTimer) clearTimeout(killTimer);
  if (aborted) signalGroup(subprocess.pid, 'SIGKILL'); // nothing the sampler started may outlive a stop
  const spawnFailed = result.failed && result.exitCode === undefined && result.signal === undefined;
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    aborted,
    ...(spawnFailed ? { spawnError: result.originalMessage || result.shortMessage } : {}),
    events,
  };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
