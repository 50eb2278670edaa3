// The thin CLI: commander parses, each command's CLI module lazy-loads its implementation and prints.
import { Command, CommanderError } from 'commander';
import { ExitCode } from './errors.ts';
import type { Io } from './cli/io.ts';
import { COMMANDS } from './cli/registry.ts';

export type { Io } from './cli/io.ts';

export interface CliContext {
  io: Io;
  /** the exit code a command asks for (e.g. 1 when a check found problems) */
  setExitCode(code: number): void;
}

export const VERSION = '0.1.0';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('harness')
    .description(
      'Reproducible, comparable and checkable LoRA fine-tuning experiments on SDXL,\n' +
        'run through the real diffusers script (examples/dreambooth/train_dreambooth_lora_sdxl.py).',
    )
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      outputError: (text, write) => write(ctx.io.style.red(text)),
    })
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Start here:
  harness plan experiments/tok-boy.yaml     what would run, with the exact commands (no GPU needed)
  harness status experiments/tok-boy.yaml   the state of every planned run in the store

Exit codes: 0 ok, 1 runs failed / problems found, 2 usage or config error, 3 remote service error,
70 internal error, 130 interrupted.`,
    );
  for (const define of COMMANDS) define(program, ctx);
  return program;
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram({ io, setExitCode: (code) => (exitCode = Math.max(exitCode, code)) });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    throw error;
  }
  return exitCode;
}
