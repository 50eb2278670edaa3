// How a training attempt ended, from what it left behind: the events, the exit, the log tail and the LoRA
// file check. Pure. Saved, readable weights win over everything after them (the script's full-pipeline
// reload can OOM once the weights are already safe).
import type { FailureReason } from '../store/status.ts';
import type { EndEvent, MetricEvent, WeightsSavedEvent } from './events.ts';
import type { LoraCheck } from './safetensors.ts';

export interface AttemptEvidence {
  weights: WeightsSavedEvent | undefined;
  weightsCheck: LoraCheck | undefined;
  end: EndEvent | undefined;
  firstNonFinite: MetricEvent | undefined;
  exitCode: number | null;
  signal: string | null;
  spawnError: string | null;
  /** the harness stopped the child because the user interrupted */
  interrupted: boolean;
  /** the harness itself sent SIGKILL (after the grace period) */
  killedByHarness: boolean;
  logTail: string[];
}

export interface Verdict {
  state: 'trained' | 'failed';
  reason?: FailureReason;
  message: string;
}

const CUDA_OOM = [/CUDA out of memory/i, /OutOfMemoryError/, /CUBLAS_STATUS_ALLOC_FAILED/, /CUDA error: out of memory/i];
const RAM_OOM = [/\bMemoryError\b/, /died with <Signals\.SIGKILL: 9>/, /returned non-zero exit status -9\b/, /^Killed$/m, /Cannot allocate memory/];

export function classifyAttempt(e: AttemptEvidence): Verdict {
  if (e.weights) {
    if (e.weightsCheck?.ok) {
      const after = e.exitCode !== 0 || e.signal ? ` (the process then ended with ${exitText(e)}, after the weights were safe)` : '';
      return { state: 'trained', message: `LoRA saved at step ${e.weights.step}: ${e.weights.path}${after}` };
    }
    const why = e.weightsCheck ? e.weightsCheck.problems.join('; ') : 'not checked';
    return { state: 'failed', reason: 'invalid_weights', message: `the saved LoRA file does not match the settings: ${why}` };
  }
  if (e.spawnError) return { state: 'failed', reason: 'crashed', message: `could not start the trainer: ${e.spawnError}` };
  if (e.interrupted) return { state: 'failed', reason: 'interrupted', message: 'interrupted; `harness run` again resumes from the newest complete checkpoint' };
  if (e.firstNonFinite || e.end?.status === 'nan_loss') {
    const step = e.firstNonFinite?.step ?? e.end?.step;
    return { state: 'failed', reason: 'nan_loss', message: `loss became ${e.firstNonFinite?.loss_nonfinite ?? 'non-finite'} at step ${step}; stopped early (lower the learning rate, check the VAE is the fp16-fix one)` };
  }
  const tail = e.logTail.join('\n');
  if (e.end?.status === 'oom' || CUDA_OOM.some((p) => p.test(tail))) {
    return { state: 'failed', reason: 'oom', message: `CUDA out of memory${stepText(e)} (lower resolution or batch size, enable gradient_checkpointing)` };
  }
  if ((e.signal === 'SIGKILL' && !e.killedByHarness) || RAM_OOM.some((p) => p.test(tail))) {
    return { state: 'failed', reason: 'oom', message: `killed by the system${stepText(e)}, most likely out of system RAM (the kernel's OOM killer sends SIGKILL)` };
  }
  if (e.end?.status === 'interrupted') {
    const why = e.end.reason === 'parent_died' ? 'the harness process went away' : 'the trainer was stopped by a signal';
    return { state: 'failed', reason: 'interrupted', message: `${why}; \`harness run\` again resumes from the newest complete checkpoint` };
  }
  if (e.exitCode === 0 && !e.signal) {
    return { state: 'failed', reason: 'crashed', message: 'the script exited 0 without saving LoRA weights (no weights_saved event)' };
  }
  const error = e.end?.error ? `${e.end.error.type}: ${e.end.error.message}` : lastErrorLine(e.logTail);
  return { state: 'failed', reason: 'crashed', message: `trainer ${exitText(e)}${stepText(e)}${error ? `: ${error}` : ''}` };
}

function exitText(e: AttemptEvidence): string {
  return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.exitCode}`;
}

function stepText(e: AttemptEvidence): string {
  return typeof e.end?.step === 'number' && e.end.step > 0 ? ` at step ${e.end.step}` : '';
}

function lastErrorLine(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (/^[A-Za-z_][\w.]*(Error|Exception)\b/.test(line)) return line.slice(0, 500);
  }
  return undefined;
}

/** The last `count` lines of a log, with tqdm's \r-redraws collapsed to what a terminal would show. */
export function logTailLines(text: string, count = 50): string[] {
  const lines = text.split('\n').map((line) => {
    const parts = line.split('\r').filter((p) => p.length > 0);
    return parts.length ? parts[parts.length - 1]! : '';
  });
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-count);
}
