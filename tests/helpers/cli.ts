// Runs the real CLI in a child process, as a user would.
import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin', 'harness.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function harness(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; input?: string; timeout?: number } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: { NO_COLOR: '1', HARNESS_STORE: undefined, ...options.env },
    extendEnv: true,
    reject: false,
    timeout: options.timeout ?? 60_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
