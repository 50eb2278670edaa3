// Issue 18 item 2: runs trained with `--script FILE` (a local copy whose sha256 differs from the pin) are
// named by that script's hash. Every command that reads the store sees them as trained: status, check,
// sample and report; the reproducibility block never pairs the pinned commit with the copy's hash; and when
// nothing matches, the hint names what really differs.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../harness/config/load.ts';
import { cachedScriptPath } from '../../harness/train/script.ts';
import { DEMO_EXPERIMENT, demoWorkspace, realStack } from './stack.ts';
import { driver, runDirs, SMALL, yamlWith } from './drive.ts';

describe('runs trained with --script (real stack)', () => {
  it('are seen as trained by status, check, sample and report, with their own script in the reproducibility block', async () => {
    const stack = await realStack();
    const ws = await demoWorkspace(yamlWith(SMALL));
    const d = driver(stack, ws);
    // a local copy of the pinned script with one comment more: the same code, another sha256
    const pin = (await loadExperiment(DEMO_EXPERIMENT)).config.base.diffusers;
    const local = path.join(ws.root, 'train_dreambooth_lora_sdxl.py');
    await copyFile(cachedScriptPath(process.env, pin), local);
    await writeFile(local, `${await readFile(local, 'utf8')}\n# a local copy\n`);
    const localSha = createHash('sha256').update(await readFile(local)).digest('hex');
    expect(localSha).not.toBe(pin.sha256);

    const swept = await d.cli(['sweep', ws.experiment, '--only', 'baseline', '--script', local, '--no-report']);
    expect(swept.exitCode, `${swept.stdout}\n${swept.stderr}`).toBe(0);
    const [runDir] = await runDirs(ws);
    const id = path.basename(runDir!);

    // status: the trained run is the planned baseline, with no phantom planned twin
    const status = await d.cli(['status', ws.experiment, '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const rows = (JSON.parse(status.stdout) as { runs: { id: string; variant: string; planned: boolean; state: string }[] }).runs;
    expect(rows.filter((r) => r.variant === 'baseline')).toEqual([expect.objectContaining({ id, planned: true, state: 'done' })]);

    // check finds its samples (--accept, then the check itself)
    const accepted = await d.cli(['check', ws.experiment, '--accept']);
    expect(accepted.exitCode, `${accepted.stdout}\n${accepted.stderr}`).toBe(0);
    expect(accepted.stdout).toContain(`(run ${id})`);
    const checked = await d.cli(['check', ws.experiment, '--json']);
    expect(checked.exitCode, `${checked.stdout}\n${checked.stderr}`).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ runId: id, verdict: 'pass', tier: 'exact' });

    // sample sees it as trained: the set exists already, nothing to render
    const sampled = await d.cli(['sample', ws.experiment, '--variant', 'baseline', '--no-control', '--python', stack.python, '--device', 'cpu', '--json']);
    expect(sampled.exitCode, `${sampled.stdout}\n${sampled.stderr}`).toBe(0);
    expect((JSON.parse(sampled.stdout) as { sets: { runId: string }[] }).sets.map((s) => s.runId)).toEqual([id]);

    // report: the run is planned, and its script is the local copy, never the pinned commit with the copy's hash
    const built = await d.cli(['report', ws.experiment, '--out', ws.reports]);
    expect(built.exitCode, built.stderr).toBe(0);
    const markdown = await readFile(path.join(ws.reports, 'report.md'), 'utf8');
    expect(markdown).toMatch(new RegExp(`\\| ${id} \\| baseline \\| done \\|`));
    expect(markdown).not.toContain(`${id} (not in the current plan)`);
    const start = markdown.indexOf(`Training inputs of ${id}:`);
    expect(start).toBeGreaterThan(0);
    const end = markdown.indexOf('Training inputs of', start + 1);
    const repro = markdown.slice(start, end === -1 ? undefined : end);
    expect(repro).toContain(`- training script: \`a local copy (${local}), not the pinned one\``);
    expect(repro).toContain(`- script sha256: \`${localSha}\``);
    expect(repro).not.toContain(`- diffusers: \`${pin.release}, commit ${pin.commit}\``);

    // a setting changed since: no run matches, and the hint names the stored run and what differs
    await writeFile(ws.experiment, yamlWith([[['baseline', 'rank'], 8]])(await readFile(ws.experiment, 'utf8')));
    const stale = await d.cli(['check', ws.experiment]);
    expect(stale.exitCode).toBe(2);
    expect(stale.stderr).toContain('the run was never started in this store');
    expect(stale.stderr).toMatch(new RegExp(`${id}: trained with another script \\(sha256 ${localSha.slice(0, 12)}, ${local}\\); other settings \\(rank=4\\)`));
    expect(stale.stderr).not.toMatch(/provisional|unpinned/);
  }, 900_000);
});
