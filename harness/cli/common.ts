// Options several commands share, declared once.
import { Option, type Command } from 'commander';
import { formatProblem, type Problem } from '../errors.ts';
import type { Io } from './io.ts';

export function storeOption(command: Command): Command {
  return command.addOption(
    new Option('--store <dir>', 'run store root (default: $HARNESS_STORE, the experiment\'s store:, or ./runs)'),
  );
}

export function jsonOption(command: Command): Command {
  return command.option('--json', 'print machine-readable JSON (with schemaVersion) instead of text');
}

export function datasetOption(command: Command): Command {
  return command.option('--dataset <dir>', "use this dataset folder instead of the experiment's dataset.dir");
}

export function printWarnings(io: Io, warnings: Problem[]): void {
  for (const warning of warnings) io.stderr.write(`${io.style.yellow('warning')} ${formatProblem(warning)}\n`);
}
