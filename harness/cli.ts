// The thin CLI: commander parses, each command's CLI module lazy-loads its implementation and prints.
import { Command, CommanderError } from 'commander';
import { ExitCode } from './errors.ts';
import { writeJsonError, type Io } from './cli/io.ts';
import { exitCodesSummary } from './cli/contract.ts';
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

${exitCodesSummary()}`,
    );
  for (const define of COMMANDS) define(program, ctx);
  return program;
}

/** Words people type for a command that has another name here. */
const OTHER_NAMES: Record<string, string> = {
  train: 'run',
  fit: 'run',
  finetune: 'run',
  'fine-tune': 'run',
  start: 'sweep',
  test: 'check',
  regress: 'check',
  regression: 'check',
  eval: 'score',
  evaluate: 'score',
  generate: 'sample',
  infer: 'sample',
  render: 'sample',
  upload: 'push',
  publish: 'push',
  download: 'pin --snapshot',
  install: 'setup',
  init: 'setup',
  ls: 'status',
  list: 'status',
  runs: 'status',
  env: 'doctor',
  validate: 'dataset check',
  prepare: 'dataset prepare',
  captions: 'caption',
};

/** Whether the user asked for JSON (flags after `--` are arguments, not flags). */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram({ io, setExitCode: (code) => (exitCode = Math.max(exitCode, code)) });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return ExitCode.usage;
  }
  const first = argv[0]!;
  const meant = OTHER_NAMES[first.toLowerCase()];
  if (meant && !program.commands.some((c) => c.name() === first)) {
    const message = `unknown command '${first}' (did you mean \`harness ${meant}\`?)`;
    io.stderr.write(`${io.style.red(`error: ${message}`)}\n(add --help for usage)\n`);
    if (wantsJson(argv)) writeJsonError(io, { message, hint: 'harness --help lists the commands', exitCode: ExitCode.usage });
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.ok;
      if (wantsJson(argv)) writeJsonError(io, { message: error.message.replace(/^error: /, ''), hint: 'add --help for usage', exitCode: ExitCode.usage });
      return ExitCode.usage;
    }
    throw error;
  }
  return exitCode;
}
