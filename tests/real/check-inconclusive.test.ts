// Issue 18 item 1: a regression check that compared nothing is inconclusive, never a pass. The demo's images
// are noise (no face, no body), so no scoring marker has a value in the goldens or the current set; a
// retrained baseline is checked at the statistical tier (other weights) against goldens without values.
// Siblings: `score` of such images, and the report's summary and check table.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoWorkspace, realStack } from './stack.ts';
import { driver, readJsonFile, runDirs, SMALL, yamlWith } from './drive.ts';

describe('a check over zero compared values (real stack)', () => {
  it('is inconclusive (exit 4) with the reason and the way out; --accept warns; score and report say so too', async () => {
    const stack = await realStack();
    const ws = await demoWorkspace(yamlWith(SMALL));
    const d = driver(stack, ws);

    const first = await d.cli(['sweep', ws.experiment, '--only', 'baseline', '--no-report']);
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);

    const accepted = await d.cli(['check', ws.experiment, '--accept']);
    expect(accepted.exitCode, accepted.stderr).toBe(0);

    // the baseline trained again with another learning rate: other weights, so the statistical tier
    await writeFile(ws.experiment, yamlWith([[['baseline', 'learning_rate'], 2.0e-4]])(await readFile(ws.experiment, 'utf8')));
    const second = await d.cli(['sweep', ws.experiment, '--only', 'baseline', '--no-report']);
    expect(second.exitCode, `${second.stdout}\n${second.stderr}`).toBe(0);

    const checked = await d.cli(['check', ws.experiment]);
    expect(checked.exitCode, `${checked.stdout}\n${checked.stderr}`).toBe(4);
    expect(checked.stdout).toMatch(/tier statistical/);
    expect(checked.stdout).not.toMatch(/^pass/m);
    expect(checked.stdout).toMatch(/inconclusive: nothing was compared at the statistical tier/);
    expect(checked.stdout).toMatch(/why: the goldens have no usable marker values \(identity 0\/4/);
    expect(checked.stdout).toMatch(/way out: compare pixels instead with --tier exact/);
    // --accept said so when it wrote goldens without usable scores; the sweep's table did not show a missing identity as a value
    expect(accepted.stdout).toMatch(/warning the goldens' scores have no usable values \(identity 0\/4, curls 0\/4, nose 0\/4, neck 0\/4/);
    expect(first.stdout).toMatch(/identity not measured/);
    const report = await readJsonFile<{ verdict: string; runId: string; sampleSetId: string; inconclusive?: { reason: string; hint: string }; scenes: { verdict: string }[] }>(
      path.join(ws.store, 'demo', '_checks', 'baseline.json'),
    );
    expect(report.verdict).toBe('inconclusive');
    expect(report.inconclusive?.hint).toMatch(/--tier exact/);
    expect(report.scenes.map((s) => s.verdict)).toEqual(['inconclusive', 'inconclusive']);

    // the report says it too (built before another check replaces _checks/baseline.json): no run ranked for want of faces, and the check is inconclusive
    const built = await d.cli(['report', ws.experiment, '--out', ws.reports]);
    expect(built.exitCode, built.stderr).toBe(0);
    const markdown = await readFile(path.join(ws.reports, 'report.md'), 'utf8');
    expect(markdown).toMatch(/no image had a usable face \(identity on 0 of 4 images\)/);
    expect(markdown).toMatch(/\| baseline \| baseline-[0-9a-f]{8} \| \*\*inconclusive\*\*: the goldens have no usable marker values/);
    expect(markdown).not.toMatch(/left out of the ranking because not every scored run has them/);

    // the way out works: pixels show the change
    const exact = await d.cli(['check', ws.experiment, '--tier', 'exact']);
    expect(exact.exitCode, exact.stdout).toBe(1);
    expect(exact.stdout).toMatch(/regression: 4 of 4 images/);

    // `score` of images with no value: not a result, and not an exit 0
    const runs = await runDirs(ws);
    const current = runs.find((r) => path.basename(r) === report.runId) ?? '';
    const setDir = path.join(current, 'samples', report.sampleSetId);
    const scored = await d.cli(['score', setDir, '--reference', ws.dataset]);
    expect(scored.exitCode, scored.stderr).toBe(4);
    expect(scored.stderr).toMatch(/inconclusive: no image has a usable value for any marker/);

    // `sweep --check` says the same with the same exit code
    const swept = await d.cli(['sweep', ws.experiment, '--only', 'baseline', '--no-report', '--check']);
    expect(swept.exitCode, `${swept.stdout}\n${swept.stderr}`).toBe(4);
    expect(swept.stdout).toMatch(/regression check: inconclusive \(statistical tier\)/);
    expect(swept.stdout).toMatch(/way out: compare pixels instead with --tier exact/);
  }, 900_000);
});
