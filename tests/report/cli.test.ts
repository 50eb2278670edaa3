// `harness report` through the real CLI: default folder, --out, --store, --json and --help.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { harness } from '../helpers/cli.ts';
import { MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeFixtureStore } from '../fixtures/report/store.ts';

describe('harness report', () => {
  it('writes reports/<name>/report.md with the planned runs and marks store runs outside the plan', async () => {
    const cwd = await tempDir('harness-report-cli-');
    await writeFile(path.join(cwd, 'mini.yaml'), MINIMAL);
    await writeFixtureStore(path.join(cwd, 'runs'), { experiment: 'mini', prompts: ['portrait'], seeds: [1, 2], runs: [{ variant: 'old', hash: '9999aaaa', state: 'done', steps: [10, 20] }] });
    const result = await harness(['report', 'mini.yaml'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^reports\/mini\/report\.md: 3 runs \(2 planned, 1 done\)/);
    const md = await readFile(path.join(cwd, 'reports', 'mini', 'report.md'), 'utf8');
    expect(md).toMatch(/\| baseline-[0-9a-f]{8} \| baseline \| planned \|/);
    expect(md).toMatch(/\| lr-low-[0-9a-f]{8} \| learning\\_rate=0\.00005 \| planned \|/);
    expect(md).toContain('| old-9999aaaa (not in the current plan) |');
  });

  it('takes --out and --store, and prints JSON with schemaVersion', async () => {
    const cwd = await tempDir('harness-report-cli-');
    await writeFile(path.join(cwd, 'mini.yaml'), MINIMAL);
    const result = await harness(['report', 'mini.yaml', '--out', 'elsewhere', '--store', 'other-store', '--json'], { cwd });
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.schemaVersion).toBe(1);
    expect(json.reportPath).toBe(path.join(cwd, 'elsewhere', 'report.md'));
    expect(json.storeRoot).toBe(path.join(cwd, 'other-store'));
    expect(json.best).toBeNull();
    expect(json.runs.map((r: { state: string }) => r.state)).toEqual(['planned', 'planned']);
  });

  it('teaches in --help and refuses a missing experiment file with exit 2', async () => {
    const help = await harness(['report', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('--out <dir>');
    const cwd = await tempDir('harness-report-cli-');
    const missing = await harness(['report', 'nope.yaml'], { cwd });
    expect(missing.exitCode).toBe(2);
  });
});
