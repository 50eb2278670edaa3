import { mkdir, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../harness/errors.ts';
import { SamplingFailedError } from '../../harness/samples/failure.ts';
import type { SampleSidecar } from '../../harness/samples/protocol.ts';
import type { SampleProgress } from '../../harness/samples/render.ts';
import { sampleRun, type SampleRunOptions } from '../../harness/samples/run.ts';
import type { SampleSetManifest } from '../../harness/samples/types.ts';
import { readJsonLines } from '../../harness/store/atomic.ts';
import { pidAlive } from '../../harness/store/lock.ts';
import { runLayout, samplerBatchFiles, sampleSetFiles } from '../../harness/store/layout.ts';
import { sha256 } from '../../harness/util/hash.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fakeTrained, readLines, runOf, workspace, type Workspace } from './helpers.ts';

function options(ws: Workspace, variant: string | null, extra: Partial<SampleRunOptions> = {}, env: NodeJS.ProcessEnv = {}): SampleRunOptions {
  return {
    context: ws.context,
    run: variant ? runOf(ws, variant) : null,
    python: process.execPath,
    modelDir: ws.model,
    vaeDir: ws.vae,
    env: { ...ws.env, ...env },
    ...extra,
  };
}

const pngs = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();

describe('sampleRun with the fixture sampler', () => {
  it('renders final, checkpoint and control sets with complete sidecars, then reuses them for free', async () => {
    const ws = await workspace(await tempDir());
    const weights = await fakeTrained(ws, 'baseline');
    const rendered = path.join(ws.dir, 'rendered.jsonl');
    const first = await sampleRun(options(ws, 'baseline', {}, { FAKE_SAMPLER_LOG: rendered }));
    expect(first.sets.map((s) => [s.weights.kind, s.status, s.rendered])).toEqual([
      ['final', 'rendered', 4],
      ['checkpoint', 'rendered', 4],
      ['control', 'rendered', 4],
    ]);
    const final = first.sets[0]!;
    expect(final.dir).toBe(path.join(ws.store, 'tiny', runOf(ws, 'baseline').id, 'samples', final.setId));
    expect(first.sets[2]!.dir).toContain(`${path.sep}_control${path.sep}`);
    expect(await pngs(final.dir)).toEqual(['forest__s11.png', 'forest__s22.png', 'portrait__s11.png', 'portrait__s22.png']);

    const sidecar = JSON.parse(await readFile(path.join(final.dir, 'forest__s22.json'), 'utf8')) as SampleSidecar;
    const png = await readFile(path.join(final.dir, 'forest__s22.png'));
    expect(sidecar).toMatchObject({
      set_id: final.setId,
      sha256: sha256(png),
      prompt_id: 'forest',
      prompt: 'a photo of TOK boy, in a forest',
      negative_prompt: 'sunlight',
      seed: 22,
      steps: 4,
      guidance_scale: 5,
      scheduler: { name: 'euler', class: 'EulerDiscreteScheduler' },
      width: 64,
      height: 64,
      lora_scale: 1,
      weights: { kind: 'final', sha256: sha256(weights) },
      model: { id: 'stabilityai/stable-diffusion-xl-base-1.0', commit: 'a'.repeat(40), path: ws.model },
      vae: { id: 'madebyollin/sdxl-vae-fp16-fix', commit: 'b'.repeat(40) },
      device: 'cuda',
      dtype: 'fp16',
      watermark: false,
    });
    expect(sidecar.env).toHaveProperty('fixture');
    expect(PNG.sync.read(png)).toMatchObject({ width: 64, height: 64 });

    const manifest = JSON.parse(await readFile(sampleSetFiles(final.dir).manifest, 'utf8')) as SampleSetManifest;
    expect(manifest).toMatchObject({ schemaVersion: 1, setId: final.setId, runId: runOf(ws, 'baseline').id, experiment: 'tiny', weights: { kind: 'final' } });
    expect(manifest.images).toHaveLength(4);
    expect(manifest.images[0]).toEqual({ promptId: 'portrait', seed: 11, file: 'portrait__s11.png', sha256: expect.any(String), width: 64, height: 64 });
    expect(manifest.env).toHaveProperty('fixture');
    // one sampler process for the run's sets and the control: its noise and stderr go to the run's sample.log
    const log = await readFile(samplerBatchFiles(runLayout(ws.store, 'tiny', runOf(ws, 'baseline').id).dir).log, 'utf8');
    expect(log).toContain('just noise the harness must send to the log');
    for (const set of first.sets) expect(log).toContain(`fixture: rendering 4 of 4 of ${set.setId}`);
    const starts = await Promise.all(first.sets.map(async (set) => (await readJsonLines<{ type: string; pid?: number }>(sampleSetFiles(set.dir).events)).filter((e) => e.type === 'start')));
    expect(new Set(starts.flat().map((e) => e.pid)).size).toBe(1);

    const before = (await readLines(rendered)).length;
    const again = await sampleRun(options(ws, 'baseline', {}, { FAKE_SAMPLER_LOG: rendered }));
    expect(again.sets.map((s) => [s.setId, s.status, s.rendered])).toEqual(first.sets.map((s) => [s.setId, 'reused', 0]));
    expect((await readLines(rendered)).length).toBe(before);
  });

  it('derives images from the face photos deterministically: same spec, same bytes; other weights, other pixels', async () => {
    const a = await workspace(await tempDir());
    const b = await workspace(await tempDir());
    const weights = await fakeTrained(a, 'baseline', []);
    await fakeTrained(b, 'baseline', []);
    await writeFile(runLayout(b.store, 'tiny', runOf(b, 'baseline').id).weights, weights);
    const setsA = await sampleRun(options(a, 'baseline', { sets: { checkpoints: 'none', control: false } }));
    const setsB = await sampleRun(options(b, 'baseline', { sets: { checkpoints: 'none', control: false } }));
    expect(setsB.sets[0]!.setId).toBe(setsA.sets[0]!.setId);
    const file = 'portrait__s11.png';
    expect(sha256(await readFile(path.join(setsB.sets[0]!.dir, file)))).toBe(sha256(await readFile(path.join(setsA.sets[0]!.dir, file))));
    const seed22 = await readFile(path.join(setsA.sets[0]!.dir, 'portrait__s22.png'));
    expect(sha256(seed22)).not.toBe(sha256(await readFile(path.join(setsA.sets[0]!.dir, file))));
  });

  it('resumes a crashed set without redoing finished images', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const log = path.join(ws.dir, 'rendered.jsonl');
    const only = { sets: { checkpoints: 'none' as const, control: false } };
    const crash = sampleRun(options(ws, 'baseline', only, { FAKE_SAMPLER_LOG: log, FAKE_SAMPLER_CRASH_AFTER: '2' }));
    await expect(crash).rejects.toThrow(SamplingFailedError);
    const error = (await crash.catch((e) => e)) as SamplingFailedError;
    expect(error.reason).toBe('crashed');
    expect(error.message).toMatch(/SIGKILL/);

    const firstTwo = (await readLines(log)).map((l) => l.file);
    expect(firstTwo).toHaveLength(2);
    const dir = path.join(ws.store, 'tiny', runOf(ws, 'baseline').id, 'samples', (await readLines(log))[0]!.set_id);
    await expect(stat(sampleSetFiles(dir).manifest)).rejects.toThrow(); // incomplete: no set.json
    const inodes = await Promise.all(firstTwo.map(async (f) => (await stat(path.join(dir, f))).ino));

    const resumed = await sampleRun(options(ws, 'baseline', only, { FAKE_SAMPLER_LOG: log }));
    expect(resumed.sets[0]).toMatchObject({ status: 'resumed', kept: 2, rendered: 2 });
    const rendered = (await readLines(log)).map((l) => l.file);
    expect(rendered.sort()).toEqual(['forest__s11.png', 'forest__s22.png', 'portrait__s11.png', 'portrait__s22.png']);
    expect(await Promise.all(firstTwo.map(async (f) => (await stat(path.join(dir, f))).ino))).toEqual(inodes);
    const events = await readJsonLines<{ type: string; file?: string; skipped?: boolean }>(sampleSetFiles(dir).events);
    expect(events.filter((e) => e.type === 'image' && e.skipped).map((e) => e.file).sort()).toEqual([...firstTwo].sort());
    await stat(sampleSetFiles(dir).manifest);
  });

  it('renders all sets of a run in one process; a crash fails only the set it was on, the next process does the rest', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const rendered = path.join(ws.dir, 'rendered.jsonl');
    // final (4 images) complete, then killed after the 2nd image of the checkpoint set
    const crash = await sampleRun(options(ws, 'baseline', {}, { FAKE_SAMPLER_LOG: rendered, FAKE_SAMPLER_CRASH_AFTER: '6' })).catch((e) => e);
    expect(crash).toBeInstanceOf(SamplingFailedError);
    expect(crash).toMatchObject({ reason: 'crashed', setId: expect.stringMatching(/^ckpt2-/), message: expect.stringMatching(/SIGKILL/) });
    const lines = await readLines(rendered);
    const bySet = (prefix: string) => lines.filter((l) => l.set_id.startsWith(prefix));
    expect([bySet('final').length, bySet('ckpt2').length, bySet('control').length]).toEqual([4, 2, 4]);
    // the crashed process did final and half the checkpoint; a second process did the control
    expect(new Set([...bySet('final'), ...bySet('ckpt2')].map((l) => l.pid)).size).toBe(1);
    expect(bySet('control')[0]!.pid).not.toBe(bySet('final')[0]!.pid);
    const samples = runLayout(ws.store, 'tiny', runOf(ws, 'baseline').id).samplesDir;
    const setDir = (prefix: string) => path.join(samples, lines.find((l) => l.set_id.startsWith(prefix))!.set_id);
    await stat(sampleSetFiles(setDir('final')).manifest);
    await expect(stat(sampleSetFiles(setDir('ckpt2')).manifest)).rejects.toThrow();

    const resumed = await sampleRun(options(ws, 'baseline', {}, { FAKE_SAMPLER_LOG: rendered }));
    expect(resumed.sets.map((set) => [set.weights.kind, set.status, set.kept, set.rendered])).toEqual([
      ['final', 'reused', 4, 0],
      ['checkpoint', 'resumed', 2, 2],
      ['control', 'reused', 4, 0],
    ]);
    const again = (await readLines(rendered)).slice(lines.length);
    expect(again.map((l) => l.file).sort()).toEqual(['forest__s11.png', 'forest__s22.png']);
  });

  it('fails only the set that ran out of memory, in the same process as the others', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const rendered = path.join(ws.dir, 'rendered.jsonl');
    const progress: SampleProgress[] = [];
    const oom = await sampleRun(
      options(ws, 'baseline', { onProgress: (p) => progress.push(p) }, { FAKE_SAMPLER_LOG: rendered, FAKE_SAMPLER_FAIL: 'oom', FAKE_SAMPLER_FAIL_ONLY: 'ckpt' }),
    ).catch((e) => e);
    expect(oom).toMatchObject({ reason: 'oom', setId: expect.stringMatching(/^ckpt2-/), hint: expect.stringMatching(/--batch-size/) });
    const done = progress.flatMap((p) => (p.type === 'set-done' ? [[p.outcome.weights.kind, p.outcome.status]] : []));
    expect(done).toEqual([
      ['final', 'rendered'],
      ['control', 'rendered'],
    ]);
    const lines = await readLines(rendered);
    expect(lines).toHaveLength(8);
    expect(new Set(lines.map((l) => l.pid)).size).toBe(1);
  });

  it('fails every set at once when the sampler dies before reaching any (no process per set)', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const broken = path.join(ws.dir, 'no-such-sampler.mjs');
    const error = await sampleRun(options(ws, 'baseline', {}, { HARNESS_SAMPLER_SCRIPT: broken })).catch((e) => e);
    expect(error).toMatchObject({ reason: 'crashed', message: expect.stringMatching(/exited with code 1 \(also failed: ckpt2-\S+ \(crashed\), control-\S+ \(crashed\)\)/) });
    const log = await readFile(samplerBatchFiles(runLayout(ws.store, 'tiny', runOf(ws, 'baseline').id).dir).log, 'utf8');
    expect(log.match(/^=== /gm)).toHaveLength(1);
    expect(log).toContain('no-such-sampler.mjs');
  });

  it('detects a corrupt PNG written by the sampler and renders it again', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const progress: SampleProgress[] = [];
    const state = path.join(ws.dir, 'fixture-state');
    const result = await sampleRun(
      options(ws, 'baseline', { sets: { checkpoints: 'none', control: false }, onProgress: (p) => progress.push(p) }, { FAKE_SAMPLER_CORRUPT: 'forest__s11.png', FAKE_SAMPLER_STATE: state }),
    );
    const set = result.sets[0]!;
    expect(set.redone).toEqual([{ file: 'forest__s11.png', why: expect.stringMatching(/does not decode as PNG/) }]);
    expect(progress.some((p) => p.type === 'redo' && p.file === 'forest__s11.png')).toBe(true);
    for (const file of await pngs(set.dir)) PNG.sync.read(await readFile(path.join(set.dir, file)));
    await stat(sampleSetFiles(set.dir).manifest);
  });

  it('fails with bad_output when the sampler keeps writing a corrupt PNG', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const run = sampleRun(options(ws, 'baseline', { sets: { checkpoints: 'none', control: false } }, { FAKE_SAMPLER_CORRUPT: 'portrait__s22.png' }));
    await expect(run).rejects.toMatchObject({ reason: 'bad_output', message: expect.stringMatching(/portrait__s22\.png: does not decode/) });
  });

  it('redoes only an image damaged on disk after the set was complete', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const only = { sets: { checkpoints: 'none' as const, control: false } };
    const first = (await sampleRun(options(ws, 'baseline', only))).sets[0]!;
    await truncate(path.join(first.dir, 'portrait__s22.png'), 100);
    const log = path.join(ws.dir, 'rendered.jsonl');
    const second = (await sampleRun(options(ws, 'baseline', only, { FAKE_SAMPLER_LOG: log }))).sets[0]!;
    expect(second).toMatchObject({ setId: first.setId, status: 'resumed', kept: 3, rendered: 1 });
    expect(second.redone.map((r) => r.file)).toEqual(['portrait__s22.png']);
    expect((await readLines(log)).map((l) => l.file)).toEqual(['portrait__s22.png']);

    // Bytes and sidecar replaced together: the sha256 agrees, but it is not what set.json vouched for.
    const broken = Buffer.from('\x89PNG\r\n\x1a\nnot really');
    await writeFile(path.join(first.dir, 'forest__s11.png'), broken);
    const sidecarFile = path.join(first.dir, 'forest__s11.json');
    await writeFile(sidecarFile, JSON.stringify({ ...JSON.parse(await readFile(sidecarFile, 'utf8')), sha256: sha256(broken) }));
    const third = (await sampleRun(options(ws, 'baseline', only))).sets[0]!;
    expect(third.redone).toEqual([{ file: 'forest__s11.png', why: expect.stringMatching(/does not decode/) }]);
  });

  it('renders the shared control set once for two runs sampled at the same time', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    await fakeTrained(ws, 'lr-low');
    const log = path.join(ws.dir, 'rendered.jsonl');
    const sets = { final: false, checkpoints: 'none' as const, control: true };
    const [a, b] = await Promise.all([
      sampleRun(options(ws, 'baseline', { sets }, { FAKE_SAMPLER_LOG: log })),
      sampleRun(options(ws, 'lr-low', { sets }, { FAKE_SAMPLER_LOG: log })),
    ]);
    expect(a.sets[0]!.setId).toBe(b.sets[0]!.setId);
    expect([a.sets[0]!.status, b.sets[0]!.status].sort()).toEqual(['rendered', 'reused']);
    const lines = await readLines(log);
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => l.file)).size).toBe(4);
    expect(new Set(lines.map((l) => l.pid)).size).toBe(1);
  });

  it('samples every complete checkpoint for "all", ignores partial folders and reports missing ones', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline', [2, 4]);
    await mkdir(runLayout(ws.store, 'tiny', runOf(ws, 'baseline').id).checkpoint(6), { recursive: true }); // cut short
    const all = await sampleRun(options(ws, 'baseline', { sets: { final: false, checkpoints: 'all', control: false } }));
    expect(all.sets.map((s) => s.setId.split('-')[0])).toEqual(['ckpt2', 'ckpt4']);
    const listed = await sampleRun(options(ws, 'baseline', { sets: { final: false, checkpoints: [4, 6], control: false } }));
    expect(listed.sets.map((s) => [s.setId.split('-')[0], s.status])).toEqual([['ckpt4', 'reused']]);
    expect(listed.skipped).toEqual([{ what: `${runOf(ws, 'baseline').id} checkpoint-6`, why: expect.stringMatching(/no complete checkpoint-6.*complete: 2, 4/) }]);
  });

  it('gives new set ids when the weights or a setting change, and refuses an untrained run', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline', []);
    const only = { sets: { checkpoints: 'none' as const, control: false } };
    const first = (await sampleRun(options(ws, 'baseline', only))).sets[0]!;
    const seeds = (await sampleRun(options(ws, 'baseline', { ...only, filters: { seeds: [5] } }))).sets[0]!;
    expect(seeds.setId).not.toBe(first.setId);
    expect(await pngs(seeds.dir)).toEqual(['forest__s5.png', 'portrait__s5.png']);
    await fakeTrained(ws, 'baseline', []); // retrained: new bytes
    const retrained = (await sampleRun(options(ws, 'baseline', only))).sets[0]!;
    expect(retrained).toMatchObject({ status: 'rendered' });
    expect(retrained.setId).not.toBe(first.setId);
    await expect(sampleRun(options(ws, 'lr-low', only))).rejects.toThrow(/has not finished training.*no final weights/);
  });

  it('classifies an out-of-memory sampler and stops a sampler on abort', async () => {
    const ws = await workspace(await tempDir());
    await fakeTrained(ws, 'baseline');
    const only = { sets: { checkpoints: 'none' as const, control: false } };
    const oom = await sampleRun(options(ws, 'baseline', only, { FAKE_SAMPLER_FAIL: 'oom' })).catch((e) => e);
    expect(oom).toBeInstanceOf(SamplingFailedError);
    expect(oom).toMatchObject({ reason: 'oom', hint: expect.stringMatching(/--batch-size/) });

    const controller = new AbortController();
    const hung = sampleRun(
      options(ws, 'baseline', {
        ...only,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.type === 'image' && !p.skipped) controller.abort();
        },
      }, { FAKE_SAMPLER_HANG: '1' }),
    );
    await expect(hung).rejects.toThrow(InterruptedError);
    const dir = path.join(ws.store, 'tiny', runOf(ws, 'baseline').id, 'samples');
    const [setDir] = await readdir(dir);
    const events = await readJsonLines<{ type: string; pid?: number }>(sampleSetFiles(path.join(dir, setDir!)).events);
    const pid = events.filter((e) => e.type === 'start').at(-1)!.pid!;
    expect(pid).toBeGreaterThan(0);
    expect(pidAlive(pid)).toBe(false);
  });
});
