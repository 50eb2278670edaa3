// How a training attempt ended, from what it left behind: the events, the exit, the log tail and the LoRA
// file check. Pure. Saved, readable weights win over everything after them (the script's full-pipeline
// reload can OOM once the weights are already safe).
import type { TrainingSettings } from '../config/schema.ts';
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
  /** the run's resolved settings: advice names only what is not already set */
  settings?: TrainingSettings;
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
    return { state: 'failed', reason: 'oom', message: `CUDA out of memory${stepText(e)}; ${oomAdvice(e.settings)}` };
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

/**
 * The end event's step is the last *completed* optimizer step (the tap logs a step after it is done, and a
 * checkpoint of step N is saved before step N is logged): a failure happened during the step after it.
 */
function stepText(e: AttemptEvidence): string {
  if (typeof e.end?.step !== 'number') return '';
  const done = Math.max(0, e.end.step);
  return done > 0 ? ` during step ${done + 1} (after ${done} completed step${done === 1 ? '' : 's'})` : ' during step 1 (before any step completed)';
}

/** What would lower the memory, given what the run already does; nothing already on is suggested again. */
export function oomAdvice(settings: TrainingSettings | undefined): string {
  if (!settings) return 'lower resolution or train_batch_size, or set gradient_checkpointing: true';
  const tips: string[] = [];
  const batch = Number(settings.train_batch_size ?? 4);
  const accumulation = Number(settings.gradient_accumulation_steps ?? 1);
  const resolution = Number(settings.resolution ?? 1024);
  if (settings.gradient_checkpointing !== true) tips.push('set gradient_checkpointing: true');
  if (!settings.mixed_precision || settings.mixed_precision === 'no') tips.push('set mixed_precision: fp16');
  if (batch > 1) {
    const lower = Math.max(1, Math.floor(batch / 2));
    tips.push(`lower train_batch_size ${batch} → ${lower} with gradient_accumulation_steps ${accumulation} → ${(accumulation * batch) / lower} (the same effective batch)`);
  }
  if (settings.train_text_encoder === true) tips.push('set train_text_encoder: false');
  if (resolution > 512) tips.push(`lower resolution ${resolution} → ${resolution > 768 ? 768 : 512}`);
  if (Number(settings.rank ?? 4) > 16) tips.push(`lower rank ${settings.rank} → 16`);
  const adamw = String(settings.optimizer ?? 'AdamW').toLowerCase() === 'adamw';
  if (adamw && settings.use_8bit_adam !== true) tips.push('set use_8bit_adam: true (saves little at a small rank)');
  const on = [
    settings.gradient_checkpointing === true ? 'gradient_checkpointing' : null,
    settings.use_8bit_adam === true ? 'use_8bit_adam' : null,
    settings.mixed_precision && settings.mixed_precision !== 'no' ? `mixed_precision ${settings.mixed_precision}` : null,
  ].filter(Boolean);
  const already = on.length ? `already on: ${on.join(', ')}` : '';
  if (tips.length === 0) return `every memory saving is already on (${on.join(', ')}, batch 1, resolution ${resolution}): this card is too small for the run; use one with more memory`;
  return `to fit: ${tips.join('; ')}${already ? ` (${already})` : ''}`;
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
