// kill -9, as a crash or a lost Colab session does it: no handler runs, nothing is flushed.
import { readdir, readFile } from 'node:fs/promises';

/** Pids of the live processes whose command line contains `needle` (from /proc). */
export async function processesWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').includes(needle)) pids.push(Number(name));
  }
  return pids;
}

/** SIGKILL to each pid and to the process group it leads, at once. */
export function killTree(pids: number[]): void {
  for (const pid of pids) {
    for (const target of [pid, -pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone, or not a group leader
      }
    }
  }
}
