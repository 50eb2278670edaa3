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

/**
 * The one exit-code table of every command (README, `--help` and the contract test are generated from or
 * checked against it). The line between 1 and 2: 1 means the work ran, or a check ran, and found something
 * wrong; 2 means nothing was done because what was asked cannot be done as asked.
 */
export const EXIT_CODES: readonly { code: ExitCodeValue; meaning: string }[] = [
  { code: ExitCode.ok, meaning: 'done; nothing failed and nothing was found wrong' },
  { code: ExitCode.failed, meaning: 'a run failed, or a check ran and found problems (a regression, a dataset problem, an environment that is not ready)' },
  {
    code: ExitCode.usage,
    meaning: 'nothing was done: bad flags, a bad experiment or input file, or something it needs is missing (dataset, store, goldens, script, Python packages, a GPU)',
  },
  { code: ExitCode.remote, meaning: 'a remote service refused or could not be reached (Hugging Face Hub, W&B, the script download, sbatch)' },
  { code: ExitCode.inconclusive, meaning: 'inconclusive: a check or score that compared or measured nothing (neither pass nor fail); the message says why and the way out' },
  { code: ExitCode.bug, meaning: 'internal error: a bug in harness (please report it with the stack)' },
  { code: ExitCode.interrupted, meaning: 'interrupted (Ctrl-C or SIGTERM); the same command again resumes' },
];

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
  constructor(message = 'interrupted', hint?: string) {
    super(message, { exitCode: ExitCode.interrupted, ...(hint === undefined ? {} : { hint }) });
  }
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
};

/**
 * A file-system error that reached the top (a store on a full or read-only disk, a path that is a file):
 * the user's environment or input, not a bug. Exit 2, naming the path; undefined for anything else.
 */
export function fileSystemError(error: unknown): UsageError | undefined {
  const e = error as NodeJS.ErrnoException | undefined;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !(e.code in FILE_ERRORS)) return undefined;
  const where = e.path ? `${e.syscall ? `${e.syscall} ` : ''}${e.path}` : (e.syscall ?? 'a file operation');
  return new UsageError(
    `cannot ${where}: ${FILE_ERRORS[e.code]} (${e.code})`,
    e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'free some space, or point --store at a larger disk' : 'check the path and its permissions',
  );
}
