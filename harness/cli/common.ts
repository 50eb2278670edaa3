// Options several commands share, declared once: a flag means the same in every command that has it
// (tests/cli/contract.test.ts checks it, and the README's flags section is generated from these).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ExitCode, formatProblem, UsageError, type Problem } from '../errors.ts';
import type { Io } from './io.ts';

export const SHARED_FLAGS = {
  store: "run store root (default: $HARNESS_STORE, the experiment's store:, else runs/ beside the experiment file)",
  json: 'print machine-readable JSON (with schemaVersion) on stdout instead of text; on failure {schemaVersion, error}',
  dataset: "use this dataset folder instead of the experiment's dataset.dir",
  variant: 'pick runs by variant name: baseline, a name under variants:, or a grid-… name from `harness plan` (repeat or comma-separate)',
  run: 'pick runs by run id, e.g. baseline-1a2b3c4d (repeat or comma-separate)',
  reportDir: 'report folder (default: reports/<experiment> beside the store: runs/ → reports/, another store DIR → DIR-reports/)',
  python: 'the Python with torch and diffusers (default: $HARNESS_PYTHON, else the environment named by python.requirements in the experiment, made if missing, else python3)',
  script: 'a local copy of the diffusers training script instead of the cached pinned one (its sha256 names the runs)',
  model: 'local folder of the base model instead of the pinned snapshot',
  vae: 'local folder of the VAE instead of the pinned snapshot',
  unpinned: 'train even though the base model or VAE is not pinned to a commit (run ids are provisional)',
  out: 'write the result to this file',
} as const;

/** Comma-separated or repeated values of one flag, collected in order. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function storeOption(command: Command): Command {
  return command.addOption(new Option('--store <dir>', SHARED_FLAGS.store));
}

export function jsonOption(command: Command): Command {
  return command.option('--json', SHARED_FLAGS.json);
}

export function datasetOption(command: Command): Command {
  return command.option('--dataset <dir>', SHARED_FLAGS.dataset);
}

export function runIdOption(command: Command): Command {
  return command.option('--run <id>', SHARED_FLAGS.run, collectList);
}

export function reportDirOption(command: Command): Command {
  return command.option('--report-dir <dir>', SHARED_FLAGS.reportDir);
}

export function pythonOption(command: Command): Command {
  return command.option('--python <exe>', SHARED_FLAGS.python);
}

export function scriptOption(command: Command): Command {
  return command.option('--script <file>', SHARED_FLAGS.script);
}

export function modelOptions(command: Command): Command {
  return command.option('--model <dir>', SHARED_FLAGS.model).option('--vae <dir>', SHARED_FLAGS.vae);
}

export function unpinnedOption(command: Command): Command {
  return command.option('--unpinned', SHARED_FLAGS.unpinned);
}

export function outFileOption(command: Command, what: string): Command {
  return command.option('--out <file>', `${SHARED_FLAGS.out}: ${what}`);
}

/** Commands that act on one run take the shared list flags but refuse more than one value. */
export function single(flag: string, values: string[] | undefined, hint: string): string | undefined {
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) throw new UsageError(`${flag} ${values.join(',')}: this command takes one run, got ${values.length}`, hint);
  return values[0];
}

export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
}

export function printWarnings(io: Io, warnings: Problem[]): void {
  for (const warning of warnings) io.stderr.write(`${io.style.yellow('warning')} ${formatProblem(warning)}\n`);
}

/** A deprecated spelling: still works, says once what to use instead. */
export function deprecated(io: Io, used: string, instead: string): void {
  io.stderr.write(`${io.style.yellow('warning')} ${used} is deprecated: use ${instead}\n`);
}

/**
 * Ctrl-C (or SIGTERM) for a command: the first says what is being stopped and aborts `signal` (the
 * command then stops at a safe point and exits 130 with what to do next); a second forces the exit.
 */
export function interruptible(
  io: Io,
  stopping: string,
  /** say: where the first line goes (default: its own line on stderr); forced: what the forced exit adds */
  options: { say?: (text: string) => void; forced?: string } = {},
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let count = 0;
  const handler = (name: NodeJS.Signals) => {
    count += 1;
    if (count === 1) {
      const text = `${name}: ${stopping}; press Ctrl-C again to force`;
      if (options.say) options.say(text);
      else io.stderr.write(`\n${text}\n`);
      controller.abort();
      return;
    }
    io.stderr.write(`${name} again: forcing exit${options.forced ? `; ${options.forced}` : ''}\n`);
    process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
