// runLineChild with real node children: lines in order, stderr to a file or captured, an abort that
// reaches a grandchild through the process group, and a spawn that cannot start.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLineChild } from '../../harness/runner/lines.ts';
import { tempDir } from '../helpers/tmp.ts';

const node = process.execPath;

/** A zombie counts as gone: in a container nothing may reap the orphaned grandchild. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

describe('runLineChild', () => {
  it('hands stdout lines to the callback in order and appends stderr to the log file', async () => {
    const dir = await tempDir('harness-lines-');
    const log = path.join(dir, 'child.log');
    await writeFile(log, 'earlier\n');
    const script = `for (let i = 0; i < 3; i++) console.log(JSON.stringify({ i, who: process.env.WHO })); console.error('to the log'); process.exit(3);`;
    const lines: string[] = [];
    const result = await runLineChild({
      command: { file: node, args: ['-e', script], cwd: dir, env: { WHO: 'child' } },
      ownGroup: true,
      stderr: { appendTo: log },
      onLine: async (line) => {
        await new Promise((resolve) => setTimeout(resolve, 5)); // a slow callback must not reorder lines
        lines.push(line);
      },
    });
    expect(lines.map((line) => JSON.parse(line))).toEqual([0, 1, 2].map((i) => ({ i, who: 'child' })));
    expect(result).toMatchObject({ exitCode: 3, signal: null, aborted: false, spawnError: null, notFound: false, stderr: '' });
    expect(await readFile(log, 'utf8')).toBe('earlier\nto the log\n');
  });

  it('captures stderr when asked', async () => {
    const dir = await tempDir('harness-lines-');
    const result = await runLineChild({
      command: { file: node, args: ['-e', `console.error('oops'); console.log('done')`], cwd: dir, env: {} },
      ownGroup: false,
      stderr: 'capture',
      onLine: () => {},
    });
    expect(result).toMatchObject({ exitCode: 0, stderr: 'oops', aborted: false });
  });

  it('on abort stops the whole group, a grandchild that ignores SIGTERM included', async () => {
    const dir = await tempDir('harness-lines-');
    const grandchild = `process.on('SIGTERM', () => {}); console.log(process.pid); setInterval(() => {}, 1000);`;
    const script = `const { spawn } = require('node:child_process');
      const g = spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: ['ignore', 'pipe', 'ignore'] });
      g.stdout.on('data', (d) => console.log(JSON.stringify({ grandchild: Number(String(d).trim()) })));
      setInterval(() => {}, 1000);`;
    const controller = new AbortController();
    let grandchildPid = 0;
    const result = await runLineChild({
      command: { file: node, args: ['-e', script], cwd: dir, env: {} },
      ownGroup: true,
      stderr: { appendTo: path.join(dir, 'log') },
      signal: controller.signal,
      killGraceMs: 5_000, // longer than the test waits: the kill after the leader's exit must do it
      onLine: (line) => {
        grandchildPid = (JSON.parse(line) as { grandchild: number }).grandchild;
        controller.abort();
      },
    });
    expect(result.aborted).toBe(true);
    expect(result.signal).toBe('SIGTERM');
    // the grandchild ignored SIGTERM and holds no pipe of ours; the SIGKILL that follows an abort takes it too
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(grandchildPid).toBeGreaterThan(0);
    const survived = await alive(grandchildPid);
    if (survived) process.kill(grandchildPid, 'SIGKILL');
    expect(survived).toBe(false);
  });

  it('says when the executable does not exist', async () => {
    const dir = await tempDir('harness-lines-');
    const result = await runLineChild({
      command: { file: path.join(dir, 'no-such-python'), args: [], cwd: dir, env: {} },
      ownGroup: true,
      stderr: 'capture',
      onLine: () => {},
    });
    expect(result.notFound).toBe(true);
    expect(result.spawnError).toMatch(/ENOENT/);
    expect(result.exitCode).toBeNull();
  });
});
