// Runs one sampler process (through harness/runner/) in its own process group, so a stop reaches it and
// anything it started. Events from stdout go to `onEvent` in order (the caller files them per set);
// everything else, stderr included, to the run's sample.log.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runLineChild } from '../runner/lines.ts';
import { parseSamplerLine, type SamplerEvent } from './protocol.ts';

export interface SamplerProcessOptions {
  python: string;
  script: string;
  /** a set's sampler-spec.json or a sampler-batch.json */
  jobFile: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** awaited before the next line is read */
  onEvent?: (event: SamplerEvent) => void | Promise<void>;
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
}

export async function runSamplerProcess(options: SamplerProcessOptions): Promise<SamplerProcessResult> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  await appendFile(options.logFile, `\n=== ${new Date().toISOString()} ${options.python} ${options.script} ${options.jobFile}\n`);
  if (options.signal?.aborted) return { exitCode: null, signal: null, aborted: true };

  const result = await runLineChild({
    command: {
      file: options.python,
      args: [options.script, options.jobFile],
      cwd: options.cwd ?? process.cwd(),
      env: { PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
    },
    baseEnv: options.env,
    ownGroup: true,
    stderr: { appendTo: options.logFile },
    signal: options.signal,
    killGraceMs: options.killGraceMs,
    onLine: async (line) => {
      const event = parseSamplerLine(line);
      if (!event) return appendFile(options.logFile, `${line}\n`);
      await options.onEvent?.(event);
    },
  });
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    aborted: result.aborted,
    ...(result.spawnError !== null ? { spawnError: result.spawnError } : {}),
  };
}
