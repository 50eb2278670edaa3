// The only place that exits the process and turns errors into exit codes.
import { runCli } from './cli.ts';
import { defaultIo, type Io } from './cli/io.ts';
import { ExitCode, HarnessError } from './errors.ts';

export async function main(argv: string[], io: Io = defaultIo()): Promise<void> {
  // `harness plan … | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await runMain(argv, io);
}

export async function runMain(argv: string[], io: Io = defaultIo()): Promise<number> {
  try {
    return await runCli(argv, io);
  } catch (error) {
    return reportError(error, io);
  }
}

export function reportError(error: unknown, io: Io): number {
  if (error instanceof HarnessError) {
    io.stderr.write(`${io.style.red('error')} ${error.message}\n`);
    if (error.hint) io.stderr.write(`${io.style.dim('hint')}  ${error.hint}\n`);
    return error.exitCode;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`internal error (a bug in harness; please report it with this stack):\n${stack}\n`);
  return ExitCode.bug;
}
