// How a sampling failure is told: a reason a sweep can record, what the sampler said, the end of its log.
import { readFile } from 'node:fs/promises';
import { RunFailedError } from '../errors.ts';
import type { SamplerProcessResult } from './child.ts';
import type { SamplerEvent } from './protocol.ts';

export type SamplingFailureReason = 'oom' | 'crashed' | 'bad_output' | 'not_started' | 'weights_mismatch' | 'invalid_spec';

export class SamplingFailedError extends RunFailedError {
  readonly reason: SamplingFailureReason;
  readonly setId: string;
  readonly logTail: string[];

  constructor(setId: string, reason: SamplingFailureReason, message: string, logTail: string[], hint?: string) {
    super(`sample set ${setId}: ${message}`, hint);
    this.reason = reason;
    this.setId = setId;
    this.logTail = logTail;
  }
}

export async function logTail(file: string, lines = 50): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.trim() !== '').slice(-lines);
}

const OOM_PATTERN = /CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|MemoryError/;

/** `events`: those of the set being classified (a batch process speaks for several sets, each told by its events). */
export function classifyFailure(result: SamplerProcessResult, events: readonly SamplerEvent[], tail: string[]): { reason: SamplingFailureReason; message: string } {
  const said = [...events].reverse().find((event) => event.type === 'error');
  if (said?.type === 'error') {
    const known: SamplingFailureReason[] = ['oom', 'weights_mismatch', 'invalid_spec'];
    const reason = (known as string[]).includes(said.reason) ? (said.reason as SamplingFailureReason) : 'crashed';
    return { reason, message: `the sampler stopped: ${said.message}` };
  }
  if (result.spawnError) return { reason: 'not_started', message: `the sampler did not start: ${result.spawnError}` };
  if (tail.some((line) => OOM_PATTERN.test(line))) return { reason: 'oom', message: 'the sampler ran out of memory' };
  if (result.signal === 'SIGKILL') return { reason: 'crashed', message: 'the sampler was killed (SIGKILL; the system may have run out of RAM)' };
  const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
  return { reason: 'crashed', message: `the sampler ${how}` };
}

export function failureHint(reason: SamplingFailureReason, logFile: string): string {
  if (reason === 'oom') return `lower --batch-size (or samples.width/height); the log is ${logFile}`;
  if (reason === 'not_started') return 'check --python (or $HARNESS_PYTHON) points at the Python of your environment; `harness setup` checks it';
  return `see ${logFile}; sampling again resumes from the last finished image`;
}
