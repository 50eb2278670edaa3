// Tracking cost on a long run: how long mirroring 5,000 training steps takes on the run's own thread
// (onEvents, the part a training loop could feel), and a full `sync` of them to a loopback W&B
// stand-in with production pacing (requests, seconds).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mirrorRun } from '../harness/tracking/mirror.ts';
import { resolveTarget } from '../harness/tracking/mode.ts';
import { syncRun } from '../harness/tracking/sync.ts';
import { WandbClient } from '../harness/tracking/wandb/client.ts';
import { DEFAULT_POLICY, Http } from '../harness/tracking/wandb/http.ts';
import { FakeWandb } from '../tests/fixtures/wandb-server/server.ts';
import { makeRunFolder, metricEvent, writeEvents } from '../tests/tracking/run-folder.ts';
import { readSpec } from '../harness/tracking/local.ts';

const STEPS = 5_000;
const KEY = 'bench-key';

export async function bench(): Promise<Record<string, number | string>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'harness-bench-tracking-'));
  const server = await new FakeWandb({ apiKey: KEY }).start();
  try {
    const env = { WANDB_API_KEY: KEY, WANDB_BASE_URL: server.url, WANDB_MODE: 'offline' };
    const tracking = { wandb: { project: 'bench', mode: 'auto' as const } };
    const runDir = await makeRunFolder(path.join(root, 'store'), { runId: 'baseline-1a2b3c4d', steps: 0, samples: false });
    const mirror = mirrorRun({ runDir, spec: (await readSpec(runDir))!, experimentConfig: { name: 'tok-boy', tracking }, env });
    const events = Array.from({ length: STEPS }, (_, i) => metricEvent(i + 1));
    await writeEvents(runDir, events);
    let t = performance.now();
    for (let i = 0; i < STEPS; i += 10) mirror.onEvents(events.slice(i, i + 10));
    const onEventsMs = performance.now() - t;
    t = performance.now();
    await mirror.finish(0);
    const finishOfflineMs = performance.now() - t;

    const target = resolveTarget(tracking, { ...env, WANDB_MODE: undefined });
    const client = new WandbClient(target.baseUrl, target.credentials!, new Http(DEFAULT_POLICY));
    t = performance.now();
    const result = await syncRun({ runDir, client, target, deadline: Date.now() + 600_000 });
    const syncMs = performance.now() - t;
    return {
      steps: STEPS,
      'onEvents total ms (500 calls of 10 events)': onEventsMs,
      'finish, offline ms (ledger of 5,000 rows)': finishOfflineMs,
      'sync rows sent': result.historySent,
      'sync requests': server.requests.length,
      'sync s (production pacing, 300 ms gap)': syncMs / 1000,
    };
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}
