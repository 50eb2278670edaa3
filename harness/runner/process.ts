// The one home of execa. External commands are data ({file, args, cwd, env}) so they can be checked and
// recorded before anything runs; a training child gets its own process group and every signal goes to
// the whole group (`accelerate launch` forwards none: its training child would run on as an orphan).
import { execa } from 'execa';

export interface CommandSpec {
  file: string;
  args: string[];
  cwd: string;
  /** variables the harness sets on top of the inherited environment */
  env: Record<string, string>;
}

export interface ExitInfo {
  exitCode: number | null;
  signal: string | null;
  /** the process could not be started at all (ENOENT, EACCES, …) */
  spawnError: string | null;
}

export interface GroupHandle {
  pid: number;
  /** signals the child's whole process group; false when the group is already gone */
  signalGroup(signal: NodeJS.Signals): boolean;
  exited: Promise<ExitInfo>;
}

/**
 * Starts `command` as the leader of a new process group with its stdout and stderr written straight into
 * `logFd` (no pipe through this process: the child's writes cannot block on us, nor die with us).
 */
export function startGroup(command: CommandSpec, logFd: number, baseEnv: NodeJS.ProcessEnv = process.env): GroupHandle {
  // execa passes any integer descriptor straight to spawn; its types only spell out 1–9.
  const fd = logFd as 3;
  const subprocess = execa(command.file, command.args, {
    cwd: command.cwd,
    env: { ...baseEnv, ...command.env },
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
    reject: false,
    cleanup: false,
  });
  const exited = subprocess.then(
    (result) => ({
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      spawnError: result.failed && result.exitCode === undefined && !result.signal ? (result.shortMessage ?? 'failed to start') : null,
    }),
    (error: Error) => ({ exitCode: null, signal: null, spawnError: error.message }),
  );
  const pid = subprocess.pid ?? -1;
  return { pid, signalGroup: (signal) => signalGroup(pid, signal), exited };
}

/** Signals the whole process group led by `pid`; false when the group is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group started by `startGroup` is alive. */
export function groupAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface CaptureResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** why it did not run or did not finish (not found, timed out), else null */
  failure: string | null;
}

/** Runs a short command and captures its output (environment probes such as python/envinfo.py). */
export async function runCapture(
  file: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; baseEnv?: NodeJS.ProcessEnv },
): Promise<CaptureResult> {
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: { ...(options.baseEnv ?? process.env), ...options.env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 120_000,
  });
  let failure: string | null = null;
  if (result.timedOut) failure = `timed out after ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s`;
  else if (result.failed && result.exitCode === undefined) failure = result.shortMessage ?? 'failed to start';
  return { exitCode: result.exitCode ?? null, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), failure };
}
