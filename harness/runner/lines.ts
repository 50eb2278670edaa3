// A child that speaks JSON lines on stdout (sampler, captioner): each stdout line goes to a callback as it
// arrives, stderr goes to a log file or is captured. In its own process group an abort signals the whole
// group (SIGTERM, then SIGKILL after a grace period) and nothing it started outlives the stop. No timeout:
// a captioner or sampler may rightly run for hours.
import { execa } from 'execa';
import type { CommandSpec } from './process.ts';
import { signalGroup } from './process.ts';
import { GroupStopper } from './stopper.ts';

export interface LineChildOptions {
  command: CommandSpec;
  /** the environment under command.env (default: this process's) */
  baseEnv?: NodeJS.ProcessEnv;
  /**
   * Leader of a new process group, so a stop reaches everything it started. Such a child no longer gets
   * the terminal's Ctrl-C itself: pass `signal` and abort it from the caller's own handler.
   */
  ownGroup: boolean;
  /** appended to this file, or captured and returned as `stderr` */
  stderr: { appendTo: string } | 'capture';
  /** awaited before the next line is read, so lines are handled in order */
  onLine: (line: string) => void | Promise<void>;
  signal?: AbortSignal;
  /** after the SIGTERM of an abort, how long before SIGKILL (default 10 s) */
  killGraceMs?: number;
}

export interface LineChildResult {
  exitCode: number | null;
  signal: string | null;
  /** stopped through `signal` */
  aborted: boolean;
  /** the process could not be started at all: the spawn error's own message */
  spawnError: string | null;
  /** that spawn error was ENOENT (no such executable or working folder) */
  notFound: boolean;
  /** the captured stderr; '' when it went to a file */
  stderr: string;
}

export async function runLineChild(options: LineChildOptions): Promise<LineChildResult> {
  const { command } = options;
  const graceMs = options.killGraceMs ?? 10_000;
  const capture = options.stderr === 'capture';
  const subprocess = execa(command.file, command.args, {
    cwd: command.cwd,
    env: { ...(options.baseEnv ?? process.env), ...command.env },
    extendEnv: false,
    detached: options.ownGroup,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: options.stderr === 'capture' ? 'pipe' : { file: options.stderr.appendTo, append: true },
    buffer: { stdout: false, stderr: capture },
    reject: false,
    // Outside a group execa's own cancellation (SIGTERM, then SIGKILL) is enough.
    ...(!options.ownGroup && options.signal ? { cancelSignal: options.signal, forceKillAfterDelay: graceMs } : {}),
  });

  const pid = subprocess.pid ?? -1;
  const stopper = new GroupStopper<'abort'>({ pid, signalGroup: (signal) => signalGroup(pid, signal), exited: subprocess }, graceMs);
  const onAbort = () => void stopper.stop('SIGTERM', 'abort');
  if (options.ownGroup) options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of subprocess.iterable({ from: 'stdout' })) await options.onLine(String(line));
  } catch {
    // The stream ends with an error when the process could not start or was killed; the result says which.
  }
  const result = await subprocess;
  options.signal?.removeEventListener('abort', onAbort);
  stopper.dispose();
  const aborted = options.ownGroup ? stopper.cause === 'abort' : result.isCanceled;
  if (aborted && options.ownGroup) signalGroup(pid, 'SIGKILL'); // nothing the child started may outlive a stop
  const spawnFailed = result.failed && result.exitCode === undefined && result.signal === undefined && !result.isCanceled;
  const code = (result as { code?: string }).code;
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    aborted,
    spawnError: spawnFailed ? (result.originalMessage || result.shortMessage) ?? '' : null,
    notFound: spawnFailed && (code === 'ENOENT' || /ENOENT/.test(result.originalMessage ?? '')),
    stderr: capture ? String(result.stderr ?? '') : '',
  };
}
