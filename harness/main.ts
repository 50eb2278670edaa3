// The only place that exits the process and turns errors into exit codes.
import { runCli, wantsJson } from './cli.ts';
import { defaultIo, writeJsonError, type Io } from './cli/io.ts';
import { ExitCode, fileSystemError, HarnessError } from './errors.ts';

export async function main(argv: string[], io: Io = defaultIo()): Promise<void> {
  // `harness plan … | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  // Commands that stop cleanly install their own handlers; every other command still says a word on Ctrl-C.
  const fallback = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    io.stderr.write(`\n${signal}: harness ${argv[0] ?? ''} interrupted; files are written whole or not at all, so the same command again is safe\n`);
    process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', fallback);
  process.on('SIGTERM', fallback);
  const code = await runMain(argv, io);
  process.off('SIGINT', fallback);
  process.off('SIGTERM', fallback);
  process.exitCode = code;
  // An interrupted command has said what it stopped; worker threads or retry timers must not keep it alive.
  if (code === ExitCode.interrupted) process.exit(code);
}

export async function runMain(argv: string[], io: Io = defaultIo()): Promise<number> {
  try {
    return await runCli(argv, io);
  } catch (error) {
    return reportError(error, io, wantsJson(argv));
  }
}

export function reportError(error: unknown, io: Io, json = false): number {
  const known = error instanceof HarnessError ? error : fileSystemError(error);
  if (known) {
    io.stderr.write(`${io.style.red('error')} ${known.message}\n`);
    if (known.hint) io.stderr.write(`${io.style.dim('hint')}  ${known.hint}\n`);
    if (json) writeJsonError(io, known);
    return known.exitCode;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`internal error (a bug in harness; please report it with this stack):\n${stack}\n`);
  if (json) writeJsonError(io, { message: `internal error: ${error instanceof Error ? error.message : String(error)}`, hint: 'a bug in harness; please report it with the stack printed on stderr', exitCode: ExitCode.bug });
  return ExitCode.bug;
}
