import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { previewFile } from '../../harness/samples/previews.ts';
import type { SampleSetManifest } from '../../harness/samples/types.ts';
import { harness } from '../helpers/cli.ts';
import { FIXTURE_SCRIPT, readJsonLinesOf, runIds, runSweep, storeDigest, sweepWorkspace } from './helpers.ts';

describe('harness sweep', () => {
  it('runs a three-variant sweep to a report; running it again does nothing and says so', async () => {
    const ws = await sweepWorkspace();
    const first = await runSweep(ws);
    expect(first.exitCode, first.stderr).toBe(0);
    const ids = await runIds(ws.store);
    expect(ids).toHaveLength(3);
    // `plan --script` names the runs as the sweep that used that script did
    const planned = await harness(['plan', 'exp.yaml', '--script', FIXTURE_SCRIPT, '--store', ws.store, '--json'], { cwd: ws.root, env: ws.env });
    expect(JSON.parse(planned.stdout).runs.map((r: { id: string }) => r.id).sort()).toEqual(ids);
    const digest = (await storeDigest(ws.store)) as Record<string, any>;
    for (const id of ids) {
      expect(digest[id].state, id).toBe('done');
      expect(digest[id].metricSteps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const sets = Object.keys(digest[id].sets);
      expect(sets.filter((s) => s.startsWith('final-'))).toHaveLength(1);
      expect(Object.keys(digest[id].sets[sets[0]!])).toEqual(['portrait__s1.png', 'portrait__s2.png']);
      const [scoreFile] = Object.keys(digest[id].scores);
      expect(digest[id].scores[scoreFile!].images).toHaveLength(2);
      expect(digest[id].scores[scoreFile!].summary.identity.n).toBeGreaterThan(0);
    }
    // the shared control set is rendered and scored once
    const control = path.join(ws.store, 'sweep-exp', '_control');
    expect((await stat(path.join(control, 'scores'))).isDirectory()).toBe(true);
    // scoring left every image's preview beside it, for the report's contact sheets
    for (const owner of [...ids, '_control']) {
      const samples = path.join(ws.store, 'sweep-exp', owner, 'samples');
      for (const setId of await readdir(samples)) {
        const manifest = JSON.parse(await readFile(path.join(samples, setId, 'set.json'), 'utf8')) as SampleSetManifest;
        for (const image of manifest.images) expect((await stat(previewFile(path.join(samples, setId), image.sha256))).size, `${setId}/${image.file}`).toBeGreaterThan(0);
      }
    }
    // the final table and the report
    expect(first.stdout).toMatch(/baseline-[0-9a-f]{8}\s+done/);
    // --no-preflight with a stand-in trainer: no GPU was seen, so the table does not speak of one
    expect(first.stdout).toContain('training and sampling');
    // the wait before the first run (environment, plan, checks) is start-up, not time between runs
    expect(first.stdout).toMatch(/^wall \S+ · start-up \S+ · training and sampling \S+ · between runs \S+ · /m);
    expect(first.stdout).not.toContain('GPU busy');
    // the sweep ETA covers training only, marked "≥", until a run's time around its steps is measured
    expect(first.stderr).toMatch(/\[run 1\/3, sweep ETA ≥\d+s\]/);
    expect(first.stderr).toMatch(/\[run 2\/3, sweep ETA \d+s\]/);
    expect(first.stderr).not.toMatch(/\[run [23]\/3, sweep ETA ≥/);
    // off a terminal every run's training shows its progress lines, not only the first run's
    for (const id of ids) expect(first.stderr).toMatch(new RegExp(`\\] ${id}  step 8/8 \\(100%\\)`));
    // sampling says where it stands image by image: each set's 2 images, the last with nothing left to wait for
    for (const id of ids) {
      expect(first.stderr).toMatch(new RegExp(`${id}: final-[0-9a-f]+ image 1/2 portrait__s1\\.png \\([\\d.]+ s, ETA \\d+s\\)`));
      expect(first.stderr).toMatch(new RegExp(`${id}: final-[0-9a-f]+ image 2/2 portrait__s2\\.png \\([\\d.]+ s, ETA 0s\\)`));
    }
    const report = await readFile(path.join(ws.root, 'reports', 'sweep-exp', 'report.md'), 'utf8');
    for (const id of ids) expect(report).toContain(id);
    // every store reader sees the run spec at the top of spec.json (the report's "differs from baseline")
    for (const id of ids) expect(JSON.parse(await readFile(path.join(ws.store, 'sweep-exp', id, 'spec.json'), 'utf8')).id).toBe(id);
    expect(report).toMatch(/\| lr-low-[0-9a-f]{8} \| learning\\_rate=0\.00005 \|/);
    expect(report).not.toContain('not in the current plan');

    const eventsBefore = await Promise.all(ids.map((id) => readFile(path.join(ws.store, 'sweep-exp', id, 'events.jsonl'), 'utf8')));
    const again = await runSweep(ws, ['--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr.match(/already done, skipped/g)).toHaveLength(3);
    const shownAgain = await runSweep(ws);
    expect(shownAgain.stdout).toMatch(/^wall \S+ · nothing was trained or sampled: every run was done before$/m);
    const result = JSON.parse(again.stdout);
    expect(result.runs.map((r: { outcome: string }) => r.outcome)).toEqual(['already_done', 'already_done', 'already_done']);
    // a run done before shows the store's numbers, the same the first sweep's table showed for it
    for (const row of result.runs as { id: string; finalLoss: number | null; peakVramMb: number | null; identity: number | null }[]) {
      const shown = new RegExp(`^${row.id}\\s+done\\s+\\S+\\s+(\\S+)\\s+([\\d.]+ GiB)\\s+(\\S+)\\s*$`, 'm').exec(first.stdout);
      expect(shown, first.stdout).not.toBeNull();
      expect([row.finalLoss?.toPrecision(3), row.peakVramMb === null ? null : `${(row.peakVramMb / 1024).toFixed(1)} GiB`, row.identity?.toFixed(3)]).toEqual([shown![1], shown![2], shown![3]]);
    }
    const eventsAfter = await Promise.all(ids.map((id) => readFile(path.join(ws.store, 'sweep-exp', id, 'events.jsonl'), 'utf8')));
    expect(eventsAfter).toEqual(eventsBefore);
  });

  it('records a failing variant and goes on; --fail-fast starts no further run', async () => {
    const ws = await sweepWorkspace();
    const failing = { FIXTURE_CRASH_AT: '3', FIXTURE_ONLY_IF: 'learning_rate=5e-05' };
    const result = await runSweep(ws, ['--json', '--no-report'], failing);
    expect(result.exitCode).toBe(1);
    const outcomes = JSON.parse(result.stdout).runs.map((r: { variant: string; outcome: string; reason?: string }) => [r.variant, r.outcome, r.reason ?? null]);
    expect(outcomes).toEqual([
      ['baseline', 'done', null],
      ['lr-low', 'failed', 'crashed'],
      ['rank-8', 'done', null],
    ]);

    const fresh = await sweepWorkspace();
    const fast = await runSweep(fresh, ['--json', '--no-report', '--fail-fast'], failing);
    expect(fast.exitCode).toBe(1);
    const fastOutcomes = JSON.parse(fast.stdout).runs.map((r: { outcome: string }) => r.outcome);
    expect(fastOutcomes).toEqual(['done', 'failed', 'not_started']);
    expect(fast.stderr).toContain('--fail-fast');
  });

  it('refuses a missing model folder once, before any run folder exists, whatever the number of runs', async () => {
    const ws = await sweepWorkspace();
    await rm(path.join(ws.root, 'vae'), { recursive: true });
    const result = await runSweep(ws);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toContain('refused before any run started (3 runs to train; nothing was written)');
    expect(result.stderr.match(/--pretrained_vae_model_name_or_path: snapshot folder not found: \S+vae \(fix: run `harness setup <experiment>`, or pass --model DIR \/ --vae DIR\)/g)).toHaveLength(1);
    expect(await readdir(path.join(ws.store, 'sweep-exp')).catch(() => [])).toEqual([]);
  });

  it('checks up front a trained run whose weights went missing, since the trainer will run it again', async () => {
    const ws = await sweepWorkspace();
    const run = (extra: string[]) =>
      harness(['run', 'exp.yaml', '--store', ws.store, '--script', FIXTURE_SCRIPT, '--model', 'model', '--vae', 'vae', '--no-preflight', '--device', 'cpu', '--variant', 'baseline', ...extra], { cwd: ws.root, env: ws.env, timeout: 240_000 });
    const trained = await run(['--until', 'train']);
    expect(trained.exitCode, trained.stderr).toBe(0);
    const [runId] = await runIds(ws.store);
    await rm(path.join(ws.store, 'sweep-exp', runId!, 'output', 'pytorch_lora_weights.safetensors'));
    await rm(path.join(ws.root, 'vae'), { recursive: true });
    const again = await run([]);
    expect(again.exitCode, again.stderr).toBe(2);
    expect(again.stderr).toContain(`refused before any run started (run ${runId} to train; nothing was written)`);
    expect(again.stderr).toMatch(/--pretrained_vae_model_name_or_path: snapshot folder not found/);
  });

  it('refuses an unknown --variant name with a suggestion (also under the deprecated --only), and an unwritable store before any work', async () => {
    const ws = await sweepWorkspace();
    const unknown = await runSweep(ws, ['--variant', 'lr-lo']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--variant: no run named "lr-lo" (did you mean "lr-low"?)');
    const old = await runSweep(ws, ['--only', 'lr-lo']);
    expect(old.exitCode).toBe(2);
    expect(old.stderr).toContain('--only is deprecated: use --variant');
    expect(old.stderr).toContain('did you mean "lr-low"');
    const full = await runSweep(ws, [], { HARNESS_MIN_FREE_MB: String(1024 * 1024 * 1024) });
    expect(full.exitCode).toBe(2);
    expect(full.stderr).toMatch(/MiB free/);
    expect(await readJsonLinesOf(path.join(ws.store, 'sweep-exp', 'x', 'events.jsonl'))).toEqual([]);
  });
});
