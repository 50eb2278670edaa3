// The README's main job, as a new user runs it: `harness sweep experiments/demo.yaml` on this CPU — the
// baseline and a variant trained through the pinned script, sampled with the real pipeline, scored,
// reported — then status, check --accept / check, and score on the store and the report it made.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { harness, type CliResult } from '../helpers/cli.ts';
import { demoWorkspace, realStack, type DemoWorkspace, type RealStack } from './stack.ts';

const TIMEOUT = 300_000;

describe('the demo sweep on the real stack', () => {
  let ws: DemoWorkspace;
  let stack: RealStack;
  let sweep: CliResult;

  beforeAll(async () => {
    stack = await realStack();
    ws = await demoWorkspace();
    sweep = await harness(['sweep', ws.experiment], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
  }, TIMEOUT);

  it('trains, samples, scores and reports both runs, and says where the report is', () => {
    expect(sweep.exitCode, sweep.stderr).toBe(0);
    expect(sweep.stdout + sweep.stderr).toMatch(/baseline-[0-9a-f]{8}\s+done/);
    expect(sweep.stdout + sweep.stderr).toMatch(/lr-high-[0-9a-f]{8}\s+done/);
    expect(sweep.stdout + sweep.stderr).toContain(`report: ${path.join(ws.root, 'reports', 'demo', 'report.md')}`);
  });

  it('status: every planned run done, in the store next to the experiment', async () => {
    const r = await harness(['status', ws.experiment, '--json'], { cwd: ws.root, env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const runs = JSON.parse(r.stdout).runs as Array<{ variant: string; state: string; planned: boolean }>;
    expect(runs.filter((run) => run.planned).map((run) => [run.variant, run.state])).toEqual([
      ['baseline', 'done'],
      ['lr-high', 'done'],
    ]);
  });

  it('the report: loss curves from the script, contact sheets, and no identity score shown as 0 for faceless samples', async () => {
    const dir = path.join(ws.root, 'reports', 'demo');
    const report = await readFile(path.join(dir, 'report.md'), 'utf8');
    expect(report).toContain('2 runs, 2 done');
    expect(report).toMatch(/\| baseline-[0-9a-f]{8} \| baseline \| done \| \d\.\d{4} \(min/);
    const loss = await readFile(path.join(dir, 'charts', 'loss.svg'), 'utf8');
    expect(loss).toContain('<svg');
    expect((await readdir(path.join(dir, 'sheets'))).sort()).toEqual(['01-profile-before.png', '02-forest-haze.png']);
    // the tiny SDXL draws noise: no face, so no identity value, said as missing rather than 0
    expect(report).toContain('0 with identity scores');
    expect(report).not.toMatch(/\| 0\.000 /);
  });

  it('check --accept makes goldens of the baseline samples; check --tier exact then compares every pixel and passes', async () => {
    const accept = await harness(['check', ws.experiment, '--accept', '--json'], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(accept.exitCode, accept.stderr).toBe(0);
    const goldens = path.join(ws.root, 'experiments', 'goldens', 'demo', 'baseline');
    expect((await readdir(path.join(goldens, 'images'))).filter((n) => n.endsWith('.png'))).toHaveLength(4);
    const check = await harness(['check', ws.experiment, '--tier', 'exact', '--json'], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(check.exitCode, check.stderr).toBe(0);
    const result = JSON.parse(check.stdout);
    expect(result.tier).toBe('exact');
    expect(result.verdict).toBe('pass');
  });

  it('score: the training photos are faces (identity values), the noise samples are counted as faceless, never as 0', async () => {
    const photos = await harness(['score', ws.dataset, '--reference', ws.dataset, '--json', '--workers', '1'], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    expect(photos.exitCode, photos.stderr).toBe(0);
    const scored = JSON.parse(photos.stdout);
    const identities = (scored.images as Array<{ identity: number | null; face: boolean }>).map((i) => i.identity);
    expect(identities).toHaveLength(6);
    for (const value of identities) expect(value).toBeGreaterThan(0.9);
    expect(scored.summary.identity.n).toBe(6);

    // the baseline's samples of its final weights: noise from a tiny random SDXL, so no face is found, and
    // the summary says so (n 0 of 4) instead of averaging nothing into a number
    const runs = await readdir(path.join(ws.root, 'runs', 'demo'));
    const baseline = path.join(ws.root, 'runs', 'demo', runs.find((r) => r.startsWith('baseline-'))!, 'samples');
    const finalSet = (await readdir(baseline)).find((s) => s.startsWith('final-'))!;
    const samples = await harness(['score', path.join(baseline, finalSet), '--reference', ws.dataset, '--json', '--workers', '1'], { cwd: ws.root, env: stack.env, timeout: TIMEOUT });
    // nothing measured is inconclusive (exit 4), never a score of 0
    expect(samples.exitCode, samples.stderr).toBe(4);
    const noise = JSON.parse(samples.stdout);
    expect(noise.images).toHaveLength(4);
    expect(noise.images.every((i: { face: boolean; identity: number | null }) => !i.face && i.identity === null)).toBe(true);
    expect(noise.summary.identity).toMatchObject({ n: 0, total: 4 });
    expect(noise.summary.identity.mean ?? null).toBeNull();
  });
});
