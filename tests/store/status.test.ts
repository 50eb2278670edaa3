import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLayout } from '../../harness/store/layout.ts';
import { setStatus, readStatus } from '../../harness/store/status.ts';
import { harness } from '../helpers/cli.ts';
import { MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('run status', () => {
  it('keeps the history of states', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'status.json');
    await setStatus(file, { runId: 'r-1', variant: 'r' }, 'training');
    await setStatus(file, { runId: 'r-1', variant: 'r' }, 'failed', { reason: 'oom', message: 'CUDA out of memory' });
    const status = await readStatus(file);
    expect(status).toMatchObject({ schemaVersion: 1, state: 'failed', reason: 'oom' });
    expect(status!.history.map((h) => h.state)).toEqual(['training', 'failed']);
  });

  it('`harness status` lists every planned run, stored states, locks and runs no longer planned', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'exp.yaml'), MINIMAL);
    const store = path.join(dir, 'runs');
    const plan = JSON.parse((await harness(['plan', 'exp.yaml', '--json'], { cwd: dir })).stdout);
    const [baseline, low] = plan.runs;
    await setStatus(runLayout(store, 'mini', baseline.id).status, { runId: baseline.id, variant: 'baseline' }, 'done');
    const lowLayout = runLayout(store, 'mini', low.id);
    await setStatus(lowLayout.status, { runId: low.id, variant: 'lr-low' }, 'training');
    await writeFile(lowLayout.lock, JSON.stringify({ pid: 999_999, host: os.hostname(), heartbeatAt: new Date().toISOString(), token: 't' }));
    await mkdir(path.join(store, 'mini', 'old-0badc0de'), { recursive: true });

    const result = await harness(['status', 'exp.yaml', '--json'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status.runs.map((r: { id: string; state: string; planned: boolean }) => [r.id, r.state, r.planned])).toEqual([
      [baseline.id, 'done', true],
      [low.id, 'training', true],
      ['old-0badc0de', 'planned', false],
    ]);
    expect(status.runs[1].lock).toMatchObject({ pid: 999_999, stale: true });
    expect(status.counts).toEqual({ done: 1, training: 1 });
    expect(status.runs[0].sync).toEqual({ label: 'not tracked', pendingRows: 0, pendingFiles: 0, lastError: null });

    const text = await harness(['status', 'exp.yaml'], { cwd: dir });
    expect(text.stdout).toContain('stale lock by pid 999999');
    expect(text.stdout).toContain('(not planned)');
  });
});
