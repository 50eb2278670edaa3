// Tiny error classes; only main.ts turns them into exit codes and messages.

export const ExitCode = {
  ok: 0,
  failed: 1, // a run failed, a check found a regression, a dataset has problems
  usage: 2, // bad flags, bad config, bad input files
  remote: 3, // W&B, the Hub, goldens missing or unreadable
  inconclusive: 4, // a check or score that compared or measured nothing: neither pass nor fail
  bug: 70,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class HarnessError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.hint = options.hint;
  }
}

/** One problem in a user's file: `file:line:col key: message`. */
export interface Problem {
  file: string;
  line?: number;
  col?: number;
  key?: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = [p.file, p.line, p.line === undefined ? undefined : p.col].filter((x) => x !== undefined).join(':');
  return `${where}${p.key ? ` ${p.key}` : ''}: ${p.message}`;
}

/** Every problem of a config or input file, reported together. Exit 2. */
export class ConfigError extends HarnessError {
  readonly problems: Problem[];

  constructor(problems: Problem[], hint?: string) {
    const head = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`${head}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, {
      exitCode: ExitCode.usage,
      ...(hint === undefined ? {} : { hint }),
    });
    this.problems = problems;
  }
}

/** The user asked for something that cannot be done as asked. Exit 2. */
export class UsageError extends HarnessError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, ...(hint === undefined ? {} : { hint }) });
  }
}

/** A run (or several) failed; the sweep recorded it. Exit 1. */
export class RunFailedError extends HarnessError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.failed, ...(hint === undefined ? {} : { hint }) });
  }
}

/** A remote service (W&B, Hugging Face Hub) refused or could not be reached. Exit 3. */
export class RemoteError extends HarnessError {
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.remote, ...options });
    this.status = options.status;
  }
}

/** The user pressed Ctrl-C or the process got SIGTERM. Exit 130. */
export class InterruptedError extends HarnessError {
  constructor(message = 'interrupted') {
    super(message, { exitCode: ExitCode.interrupted });
  }
}
