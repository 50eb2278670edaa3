// Store → ledger → W&B for what a finished run folder holds: the base model's control set beside the
// run's own samples, and times taken from what the store recorded, never from file mtimes (a run pulled
// from the Hub has fresh ones).
import { utimes } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '../../harness/store/atomic.ts';
import { controlLayout, runLayout } from '../../harness/store/layout.ts';
import { pendingFromStore } from '../../harness/tracking/replay.ts';
import { resolveTarget } from '../../harness/tracking/mode.ts';
import { syncRun } from '../../harness/tracking/sync.ts';
import { WandbClient } from '../../harness/tracking/wandb/client.ts';
import { Http } from '../../harness/tracking/wandb/http.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { FakeWandb } from '../fixtures/wandb-server/server.ts';
import { fakeWandb, KEY } from './helpers.ts';
import { EXPERIMENT, makeRunFolder, scoreReport, T0, writeControlSet } from './run-folder.ts';

let server: FakeWandb | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('a run folder replayed into the ledger', () => {
  it('adds the control set rendered with the run\'s sampling spec, with its scores, under control/; other control sets stay out', async () => {
    const store = await tempDir();
    const runDir = await makeRunFolder(store, { runId: 'baseline-1a2b3c4d' });
    const control = await writeControlSet(store);
    await writeJsonAtomic(controlLayout(store, EXPERIMENT).scores(control.manifest.setId), scoreReport(0.12));
    await writeControlSet(store, 'control-other', { steps: 50 }); // another sampling spec: another run's comparison

    const { lines } = await pendingFromStore(runDir, []);
    expect(lines.map((l) => l.src)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `m:${i + 1}`),
      's:final-abc123:7',
      's:final-abc123:42',
      'c:final-abc123',
      's:control-ef4567:7',
      's:control-ef4567:42',
      'c:control-ef4567',
    ]);
    expect(lines.map((l) => l.row._step)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    const controlRow = lines[23]!;
    expect(Object.keys(controlRow.row).filter((k) => !k.startsWith('_'))).toEqual(['control/01-profile-before', 'control/02-forest-haze']);
    expect(controlRow.files!.map((f) => f.source)).toEqual(['../_control/samples/control-ef4567/01-profile-before__s7.png', '../_control/samples/control-ef4567/02-forest-haze__s7.png']);
    expect(lines[25]!.row).toMatchObject({ 'control/identity': 0.12 });
    expect(lines[22]!.row).toMatchObject({ 'scores/identity': 0.71, 'scores/weights_step': 20 });

    // and a sync sends the control images from the experiment's _control folder
    server = await fakeWandb();
    const env = { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url };
    const target = resolveTarget({ wandb: { project: 'tok-boy-test', mode: 'auto' } }, env);
    const client = new WandbClient(target.baseUrl, target.credentials!, new Http({ baseDelayMs: 5, maxDelayMs: 40, attemptTimeoutMs: 1000 }));
    const result = await syncRun({ runDir, client, target, deadline: Date.now() + 10_000 });
    expect(result.error).toBeUndefined();
    const run = server.run('baseline-1a2b3c4d')!;
    expect([...run.files.keys()].filter((name) => name.startsWith('media/images/control_'))).toHaveLength(4);
    expect(run.summary).toMatchObject({ 'scores/identity': 0.71, 'control/identity': 0.12 });
  });

  it('times score rows from status.json and the sets, never from the score file\'s mtime', async () => {
    const store = await tempDir();
    const runDir = await makeRunFolder(store, { runId: 'baseline-1a2b3c4d' });
    const layout = runLayout(store, EXPERIMENT, 'baseline-1a2b3c4d');
    const scoredAt = new Date((T0 + 160) * 1000).toISOString();
    await writeJsonAtomic(layout.status, {
      runId: 'baseline-1a2b3c4d', variant: 'baseline', state: 'done', updatedAt: scoredAt,
      history: [{ state: 'training', at: new Date(T0 * 1000).toISOString() }, { state: 'scoring', at: new Date((T0 + 120) * 1000).toISOString() }, { state: 'done', at: scoredAt }],
    });
    const future = new Date((T0 + 298_124) * 1000); // a fresh copy, days later
    await utimes(layout.scores('final-abc123'), future, future);
    const { lines } = await pendingFromStore(runDir, []);
    const score = lines.find((l) => l.src === 'c:final-abc123')!.row;
    expect(score._timestamp).toBe(T0 + 160);
    expect(score._runtime).toBe(160);
    const times = lines.map((l) => l.row._timestamp);
    expect([...times].sort((a, b) => a - b)).toEqual(times); // never backwards
  });
});
