import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { harness } from '../helpers/cli.ts';
import { tokBoyText, unpinnedText } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fakeTrained, FAKE_SAMPLER, runOf, workspace } from './helpers.ts';

// Each case starts the real CLI several times; on a busy 2-core machine one start can take seconds.
const SLOW = 180_000;
const fixtureEnv = { HARNESS_SAMPLER_SCRIPT: FAKE_SAMPLER };

describe('harness sample', () => {
  it('teaches in --help', async () => {
    const { exitCode, stdout } = await harness(['sample', '--help']);
    expect(exitCode).toBe(0);
    for (const flag of ['--variant', '--checkpoint', '--seeds', '--prompts', '--control', '--python', '--model', '--vae', '--json', 'Examples:']) {
      expect(stdout).toContain(flag);
    }
  }, SLOW);

  it('samples trained runs and the control set, then reuses them; --json has schemaVersion', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const args = ['sample', ws.file, '--store', ws.store, '--python', process.execPath, '--model', ws.model, '--vae', ws.vae, '--json'];
    const first = await harness(args, { cwd: ws.dir, env: fixtureEnv });
    expect(first.exitCode, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result.schemaVersion).toBe(1);
    expect(result.sets.map((s: { variant: string | null; status: string }) => [s.variant, s.status])).toEqual([
      ['baseline', 'rendered'],
      ['baseline', 'rendered'],
      [null, 'rendered'],
    ]);
    expect(result.skipped).toEqual([{ what: `${runOf(ws, 'lr-low').id} (lr-low)`, why: 'not trained yet' }]);
    expect(first.stderr).toContain('[4/4] forest__s22.png');
    expect(first.stderr).toContain('skipped');

    const second = await harness(args, { cwd: ws.dir, env: fixtureEnv });
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout).sets.map((s: { status: string }) => s.status)).toEqual(['reused', 'reused', 'reused']);

    const narrow = await harness(
      ['sample', ws.file, '--store', ws.store, '--python', process.execPath, '--model', ws.model, '--vae', ws.vae, '--variant', 'baseline', '--checkpoint', 'final', '--seeds', '7', '--prompts', 'forest', '--no-control'],
      { cwd: ws.dir, env: fixtureEnv },
    );
    expect(narrow.exitCode, narrow.stderr).toBe(0);
    expect(narrow.stdout).toMatch(/baseline\s+final-[0-9a-f]{10}\s+rendered\s+1/);
    const dir = path.join(ws.store, 'tiny', runOf(ws, 'baseline').id, 'samples');
    expect((await readdir(dir)).length).toBe(3);
  }, SLOW);

  it('renders only the control set with --control', async () => {
    const ws = await workspace(await tempDir());
    const { exitCode, stdout, stderr } = await harness(
      ['sample', ws.file, '--store', ws.store, '--python', process.execPath, '--model', ws.model, '--vae', ws.vae, '--control', '--json'],
      { cwd: ws.dir, env: fixtureEnv },
    );
    expect(exitCode, stderr).toBe(0);
    expect(JSON.parse(stdout).sets).toEqual([expect.objectContaining({ variant: null, runId: null, weights: { kind: 'control' }, images: 4 })]);
  }, SLOW);

  it('says what is wrong and what to do', async () => {
    const ws = await workspace(await tempDir());
    const base = ['sample', ws.file, '--store', ws.store, '--python', process.execPath, '--model', ws.model, '--vae', ws.vae];
    const unknown = await harness([...base, '--variant', 'lr-lwo'], { cwd: ws.dir, env: fixtureEnv });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('did you mean "lr-low"');

    const untrained = await harness([...base, '--variant', 'lr-low', '--no-control'], { cwd: ws.dir, env: fixtureEnv });
    expect(untrained.exitCode).toBe(2); // nothing was done: a missing input, not a failed render
    expect(untrained.stderr).toMatch(/has not finished training/);
    expect(untrained.stderr).toMatch(/hint.*harness run/);

    await fakeTrained(ws, 'baseline', [2]);
    const noCheckpoint = await harness([...base, '--variant', 'baseline', '--checkpoint', '8'], { cwd: ws.dir, env: fixtureEnv });
    expect(noCheckpoint.exitCode).toBe(2);
    expect(noCheckpoint.stderr).toMatch(/no complete checkpoint-8[\s\S]*complete checkpoints: 2/);

    const mixed = await harness([...base, '--control', '--variant', 'baseline'], { cwd: ws.dir, env: fixtureEnv });
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toContain('takes no --variant');

    const badFlag = await harness([...base, '--checkpoint', 'latest'], { cwd: ws.dir, env: fixtureEnv });
    expect(badFlag.exitCode).toBe(2);
    const badSeeds = await harness([...base, '--seeds', '1,x'], { cwd: ws.dir, env: fixtureEnv });
    expect(badSeeds.exitCode).toBe(2);
    expect(badSeeds.stderr).toContain('"x" is not a whole number');

  }, SLOW);

  it('says when the sampler or the model snapshot cannot be found', async () => {
    const ws = await workspace(await tempDir());
    const base = ['sample', ws.file, '--store', ws.store, '--python', process.execPath, '--model', ws.model, '--vae', ws.vae];
    const noPython = await harness([...base, '--control', '--python', path.join(ws.dir, 'no-such-python')], { cwd: ws.dir, env: fixtureEnv });
    expect(noPython.exitCode).toBe(1);
    expect(noPython.stderr).toMatch(/did not start[\s\S]*hint.*--python/);

    const missingModel = await harness(['sample', ws.file, '--store', ws.store, '--control'], { cwd: ws.dir, env: { ...fixtureEnv, HF_HUB_CACHE: path.join(ws.dir, 'empty-cache') } });
    expect(missingModel.exitCode).toBe(2);
    expect(missingModel.stderr).toMatch(/no snapshot of stabilityai\/stable-diffusion-xl-base-1.0[\s\S]*harness setup/);
  }, SLOW);

  it('refuses an unpinned base model unless a local snapshot is given', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'experiments'));
    await writeFile(path.join(dir, 'experiments', 'tok-boy.yaml'), unpinnedText(tokBoyText()));
    const { exitCode, stderr } = await harness(['sample', 'experiments/tok-boy.yaml', '--control', '--store', await tempDir()], { cwd: dir, env: fixtureEnv });
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(/not pinned to a commit[\s\S]*--model DIR/);
  }, SLOW);
});
