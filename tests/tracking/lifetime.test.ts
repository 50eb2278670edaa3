// The mirror's timers (flushes, heartbeats) never keep a process alive: a harness that stops without
// finishing its mirror (a crash, a forced exit) still exits, in a real child process.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { FakeWandb } from '../fixtures/wandb-server/server.ts';
import { fakeWandb, KEY } from './helpers.ts';
import { makeRunFolder } from './run-folder.ts';

let server: FakeWandb | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('a live mirror and the process around it', () => {
  it('lets the process exit once its work is done, though the run was never finished and heartbeats are armed', async () => {
    server = await fakeWandb();
    const store = await tempDir();
    const runDir = await makeRunFolder(store, { runId: 'baseline-1a2b3c4d', steps: 3, samples: false, state: 'training' });
    const script = path.join(store, 'live.mts'); // an ES module wherever it lies
    await writeFile(
      script,
      `import { mirrorRun } from ${JSON.stringify(path.join(REPO, 'harness/tracking/mirror.ts'))};
import { readSpec } from ${JSON.stringify(path.join(REPO, 'harness/tracking/local.ts'))};
const runDir = ${JSON.stringify(runDir)};
// the process's own work (a training, say) keeps it alive until the run is created on W&B
const work = setInterval(() => {}, 1_000);
await new Promise<void>(async (created) => {
  mirrorRun({
    runDir,
    spec: (await readSpec(runDir))!,
    experimentConfig: { name: 'tok-boy', tracking: { wandb: { project: 'tok-boy-test', mode: 'auto' } } },
    env: { WANDB_API_KEY: ${JSON.stringify(KEY)}, WANDB_BASE_URL: ${JSON.stringify(server.url)} },
    options: { notify: (line) => { console.log(line); created(); } },
  });
});
clearInterval(work);
// the work is done, but finish() is never called: the heartbeat (30 s) and flush timers are armed
`,
    );
    const child = await execa(process.execPath, ['--import', 'tsx', script], { cwd: REPO, reject: false, timeout: 25_000 });
    expect(child.timedOut).toBe(false);
    expect(child.exitCode, child.stderr + child.stdout).toBe(0);
    expect(child.stdout).toContain('baseline-1a2b3c4d: W&B run');
    expect(server.requests.some((r) => r.op === 'UpsertBucket')).toBe(true);
    expect(server.requests.some((r) => r.body === '{}')).toBe(false); // it did not wait 30 s for a heartbeat
  });
});
