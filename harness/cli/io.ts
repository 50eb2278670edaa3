// What a command's CLI layer may touch of the outside: passed in so tests can capture it.
import { makeStyle, type Style } from './style.ts';

export interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  style: Style;
}

export function defaultIo(): Io {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    style: makeStyle(Boolean(process.stderr.isTTY), process.env),
  };
}

/** Prints a command's result: JSON (stable, with schemaVersion) or the human rendering. */
export function emit<T>(io: Io, json: boolean | undefined, data: T, render: (data: T, io: Io) => string): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const text = render(data, io);
  if (text) io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** `--json` on failure: the same fields on stdout that a person reads on stderr. */
export function writeJsonError(io: Io, error: { message: string; hint?: string | undefined; exitCode: number }): void {
  const body = { schemaVersion: 1, error: { message: error.message, hint: error.hint ?? null, exitCode: error.exitCode } };
  io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

/**
 * One line on a terminal's stderr that is redrawn in place (carriage return, erase line), cut to the
 * terminal's width (120 columns when unknown, 40 at least); `clear()` erases it before other output.
 */
export function liveLine(io: Io): { draw(text: string): void; clear(): void } {
  let shown = false;
  return {
    draw(text) {
      io.stderr.write(`\r\u001b[K${text.slice(0, Math.max(40, (io.stderr.columns || 120) - 1))}`);
      shown = true;
    },
    clear() {
      if (shown) io.stderr.write('\r\u001b[K');
      shown = false;
    },
  };
}
