// `harness report` through the real CLI: default folder, --out, --store, --json and --help.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

  it('takes --report-dir and --store, and prints JSON with schemaVersion', async () => {
    const cwd = await tempDir('harness-report-cli-');
    await writeFile(path.join(cwd, 'mini.yaml'), MINIMAL);
    await mkdir(path.join(cwd, 'other-store'));
    const result = await harness(['report', 'mini.yaml', '--report-dir', 'elsewhere', '--store', 'other-store', '--json'], { cwd });
    expect(result.stderr).toBe('');
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
    expect(help.stdout).toContain('--report-dir <dir>');
    const cwd = await tempDir('harness-report-cli-');
    const missing = await harness(['report', 'nope.yaml'], { cwd });
    expect(missing.exitCode).toBe(2);
  });

  it('finds the default store beside the experiment file from any folder, and the report follows the store', async () => {
    const root = await tempDir('harness-report-cli-');
    await mkdir(path.join(root, 'exp'), { recursive: true });
    await writeFile(path.join(root, 'exp', 'mini.yaml'), MINIMAL);
    await writeFixtureStore(path.join(root, 'exp', 'runs'), { experiment: 'mini', prompts: ['portrait'], seeds: [1, 2], runs: [{ variant: 'old', hash: '9999aaaa', state: 'done', steps: [10, 20] }] });
    const elsewhere = await tempDir('harness-report-cwd-');
    const status = JSON.parse((await harness(['status', path.join(root, 'exp', 'mini.yaml'), '--json'], { cwd: elsewhere })).stdout);
    expect(status.storeRoot).toBe(path.join(root, 'exp', 'runs'));
    expect(status.runs.map((r: { id: string }) => r.id)).toContain('old-9999aaaa');
    const built = JSON.parse((await harness(['report', path.join(root, 'exp', 'mini.yaml'), '--json'], { cwd: elsewhere })).stdout);
    expect(built.reportPath).toBe(path.join(root, 'exp', 'reports', 'mini', 'report.md'));
    // another store, another report folder: two stores never overwrite one report
    await mkdir(path.join(root, 'drive'));
    const other = JSON.parse((await harness(['report', path.join(root, 'exp', 'mini.yaml'), '--store', path.join(root, 'drive'), '--json'], { cwd: elsewhere })).stdout);
    expect(other.reportPath).toBe(path.join(root, 'drive-reports', 'mini', 'report.md'));
  });

  it('says when a store does not exist instead of showing every run as planned', async () => {
    const cwd = await tempDir('harness-report-cli-');
    await writeFile(path.join(cwd, 'mini.yaml'), MINIMAL);
    for (const command of ['status', 'report']) {
      const typo = await harness([command, 'mini.yaml', '--store', 'runz'], { cwd });
      expect(typo.exitCode, command).toBe(2);
      expect(typo.stderr, command).toContain(`the run store ${path.join(cwd, 'runz')} (--store) does not exist`);
      const viaEnv = await harness([command, 'mini.yaml'], { cwd, env: { HARNESS_STORE: 'nowhere' } });
      expect(viaEnv.exitCode, command).toBe(2);
      expect(viaEnv.stderr, command).toContain('($HARNESS_STORE) does not exist');
    }
    // the default store not created yet: a warning, and every run planned
    const fresh = await harness(['status', 'mini.yaml'], { cwd });
    expect(fresh.exitCode).toBe(0);
    expect(fresh.stderr).toContain(`no run store at ${path.join(cwd, 'runs')}`);
  });
});
