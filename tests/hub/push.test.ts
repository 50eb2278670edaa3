import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type CliResult } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { HubServer } from '../fixtures/hub-server/server.ts';
import type { RunSpec } from '../../harness/plan/planner.ts';
import { copyExperiment, hubEnv, startHub, TOKENS } from './helpers.ts';
import { planRuns, writeReport, writeRun } from './run-fixture.ts';

let hub: HubServer;
let baseCommit: string;
let vaeCommit: string;
let dir: string;
let file: string;
let runs: RunSpec[];
const outputs: CliResult[] = [];

const env = (extra: Record<string, string | undefined> = {}) => hubEnv(hub, path.join(dir, 'hf'), { HF_TOKEN: TOKENS.alice, ...extra });
async function cli(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  const result = await harness(args, { cwd: dir, env: env(extra) });
  outputs.push(result);
  return result;
}

beforeAll(async () => {
  ({ hub, baseCommit, vaeCommit } = await startHub());
  dir = await tempDir();
  file = await copyExperiment(dir);
  expect((await cli(['pin', file])).exitCode).toBe(0);
  runs = await planRuns(dir, file, env());
  const baseline = runs.find((r) => r.variant === 'baseline')!;
  await writeRun(path.join(dir, 'runs'), baseline);
  await writeReport(dir, 'tok-boy', baseline.id);
  await writeRun(path.join(dir, 'runs'), runs.find((r) => r.variant === 'lr-low')!, { samples: false });
}, 60_000);
afterAll(async () => hub.close());

describe('harness push (model)', () => {
  it('uploads weights, card, samples, scores, spec and the report in one commit', async () => {
    const result = await cli(['push', file, '--variant', 'baseline', '--repo', 'alice/tok-boy-lora', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ schemaVersion: 1, mode: 'model', repo: 'alice/tok-boy-lora', created: true, skipped: [] });
    expect(out.commit).toMatch(/^[0-9a-f]{40}$/);
    // create + one commit
    expect(hub.commitCount('model', 'alice/tok-boy-lora')).toBe(2);
    expect(hub.repo('model', 'alice/tok-boy-lora')!.private).toBe(true);

    const remote = hub.files('model', 'alice/tok-boy-lora');
    const baseline = runs.find((r) => r.variant === 'baseline')!;
    const store = path.join(dir, 'runs', 'tok-boy', baseline.id);
    expect([...remote.keys()].sort()).toEqual(
      [
        '.gitattributes',
        'README.md',
        'pytorch_lora_weights.safetensors',
        'report/charts/loss.svg',
        'report/report.md',
        `report/series/${baseline.id}.png`,
        'samples/01-profile-before__s11.png',
        'samples/01-profile-before__s22.png',
        'samples/02-forest-haze__s11.png',
        'samples/02-forest-haze__s22.png',
        'samples/scores.json',
        'samples/set.json',
        'training/spec.json',
      ].sort(),
    );
    expect(remote.get('pytorch_lora_weights.safetensors')).toEqual(await readFile(path.join(store, 'output', 'pytorch_lora_weights.safetensors')));
  });

  it('writes a model card with the fields the Hub and a reader need', async () => {
    const card = hub.files('model', 'alice/tok-boy-lora').get('README.md')!.toString();
    const front = parse(card.split('---\n')[1]!) as Record<string, unknown>;
    expect(front).toMatchObject({
      base_model: 'stabilityai/stable-diffusion-xl-base-1.0',
      license: 'openrail++',
      library_name: 'diffusers',
      instance_prompt: 'a photo of TOK boy',
    });
    expect(front.tags).toEqual(expect.arrayContaining(['lora', 'stable-diffusion-xl', 'text-to-image']));
    const baseline = runs.find((r) => r.variant === 'baseline')!;
    expect(card).toContain(`[\`${baseCommit}\`]`);
    expect(card).toContain(`[\`${vaeCommit}\`]`);
    expect(card).toContain('Use `a photo of TOK boy` in the prompt.');
    expect(card).toContain('| `learning_rate` | `0.0001` |');
    expect(card).toContain(`![series strip](report/series/${baseline.id}.png)`);
    expect(card).toMatch(/\| identity \| 0\.812 \| 0\.762 – 0\.862 \| 4\/4 \| 0\.900 \|/);
    expect(card).toContain(`run_id: ${baseline.id}`);
    expect(card).toContain('script_sha256: 88ffa83ccf7f45fb79fb7fc7fd23bf49ba87a5ba8b011ae295dd0b57fdd5ddfa');
    expect(card).toContain('gpu: Tesla P100-PCIE-16GB');
    expect(card).not.toContain('colab-vm');
    expect(card).toContain(`revision="${baseCommit}"`);
  });

  it('makes no commit when nothing changed, and uploads only what did', async () => {
    const before = hub.commitCount('model', 'alice/tok-boy-lora');
    const again = await cli(['push', file, '--variant', 'baseline', '--repo', 'alice/tok-boy-lora', '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    const out = JSON.parse(again.stdout);
    expect(out).toMatchObject({ commit: null, uploaded: [], deleted: [] });
    expect(out.unchanged).toHaveLength(12);
    expect(hub.commitCount('model', 'alice/tok-boy-lora')).toBe(before);
    const uploads = hub.requests.filter((r) => r.path.startsWith('/lfs-upload/') || r.path.includes('/commit/'));
    const human = await cli(['push', file, '--variant', 'baseline', '--repo', 'alice/tok-boy-lora']);
    expect(human.stdout).toMatch(/up to date .*no commit made/);
    expect(hub.requests.filter((r) => r.path.startsWith('/lfs-upload/') || r.path.includes('/commit/'))).toHaveLength(uploads.length);

    const baseline = runs.find((r) => r.variant === 'baseline')!;
    const setDir = path.join(dir, 'runs', 'tok-boy', baseline.id, 'samples');
    const [setId] = await readdir(setDir);
    await writeFile(path.join(setDir, setId!, '02-forest-haze__s22.png'), Buffer.from('re-rendered'));
    const changed = await cli(['push', file, '--variant', 'baseline', '--repo', 'alice/tok-boy-lora', '--json']);
    expect(JSON.parse(changed.stdout).uploaded).toEqual(['samples/02-forest-haze__s22.png']);
    expect(hub.commitCount('model', 'alice/tok-boy-lora')).toBe(before + 1);
  });

  it('publishes a run without samples or report and says what it skipped', async () => {
    const result = await cli(['push', file, '--variant', 'lr-low', '--repo', 'alice/tok-boy-lr-low', '--public', '--report-dir', 'nowhere']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/skipped sample images/);
    expect(result.stdout).toMatch(/skipped report: .*nowhere/);
    const remote = hub.files('model', 'alice/tok-boy-lr-low');
    expect([...remote.keys()].sort()).toEqual(['.gitattributes', 'README.md', 'pytorch_lora_weights.safetensors', 'training/spec.json']);
    expect(remote.get('README.md')!.toString()).not.toContain('## The series');
    expect(hub.repo('model', 'alice/tok-boy-lr-low')!.private).toBe(false);
  });

  it('refuses a run that has not been trained, and an unknown variant', async () => {
    const untrained = await cli(['push', file, '--variant', 'long', '--repo', 'alice/x']);
    expect(untrained.exitCode).toBe(2);
    expect(untrained.stderr).toMatch(/not in the store|no LoRA weights/);
    const unknown = await cli(['push', file, '--variant', 'lr-lo', '--repo', 'alice/x']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/did you mean "lr-low"/i);
  });

  it('explains auth failures with the repo and what to do', async () => {
    const args = ['push', file, '--variant', 'baseline', '--repo', 'alice/tok-boy-lora-2'];
    const none = await cli(args, { HF_TOKEN: undefined });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/needs a Hugging Face token with write access/);

    const readOnly = await cli(args, { HF_TOKEN: TOKENS.aliceRead });
    expect(readOnly.exitCode).toBe(3);
    expect(readOnly.stderr).toMatch(/alice\/tok-boy-lora-2/);
    expect(readOnly.stderr).toMatch(/403/);
    expect(readOnly.stderr).toMatch(/"write" role/);

    const wrongUser = await cli(args, { HF_TOKEN: TOKENS.bob });
    expect(wrongUser.exitCode).toBe(3);
    expect(wrongUser.stderr).toMatch(/403/);

    const revoked = 'hf_revokedRevokedRevokedRevoked0000';
    const bad = await cli(args, { HF_TOKEN: revoked });
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toMatch(/401/);
    expect(bad.stderr).not.toContain(revoked);

    // the token file `hf auth login` writes is used when HF_TOKEN is unset
    const home = path.join(dir, 'hf');
    await mkdir(home, { recursive: true });
    await writeFile(path.join(home, 'token'), `${TOKENS.alice}\n`);
    const fromFile = await cli(['push', file, '--variant', 'baseline', '--repo', 'alice/tok-boy-lora', '--json'], { HF_TOKEN: undefined });
    expect(fromFile.exitCode, fromFile.stderr).toBe(0);
  });

  it('never prints or stores the token', async () => {
    for (const token of Object.values(TOKENS)) {
      for (const result of outputs) {
        expect(result.stdout).not.toContain(token);
        expect(result.stderr).not.toContain(token);
      }
      for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
        if (!entry.isFile() || (entry.name === 'token' && entry.parentPath === path.join(dir, 'hf'))) continue;
        const text = await readFile(path.join(entry.parentPath, entry.name), 'latin1');
        expect(text.includes(token), path.join(entry.parentPath, entry.name)).toBe(false);
      }
      for (const repo of ['alice/tok-boy-lora', 'alice/tok-boy-lr-low']) {
        for (const content of hub.files('model', repo).values()) expect(content.toString('latin1')).not.toContain(token);
      }
    }
  });
});
