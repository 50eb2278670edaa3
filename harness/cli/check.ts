import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { ExitCode } from '../errors.ts';
import type { CheckReport, ImageCheck } from '../regression/types.ts';
import type { AcceptResult } from '../regression/accept.ts';
import { collectList, datasetOption, jsonOption, SHARED_FLAGS, single, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit, type Io } from './io.ts';
import { table } from './table.ts';

interface CheckFlags {
  variant?: string[];
  tier?: string;
  accept?: boolean;
  score?: boolean;
  json?: boolean;
  store?: string;
  dataset?: string;
}

export function defineCheck(program: Command, ctx: CliContext): void {
  const command = program
    .command('check')
    .description('regression check: compare the fixed-seed samples of a run with the accepted goldens')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--variant <name>', SHARED_FLAGS.variant, collectList)
    .option('--tier <tier>', 'force a comparison tier: exact, perceptual or statistical (default: chosen from the fingerprints)')
    .option('--accept', "promote the variant's current sample set to its goldens instead of checking")
    .option('--no-score', 'never run the face scorer; a set without scores cannot be checked at tiers that need them (exit 2)')
    .addHelpText(
      'after',
      `
What is compared: the run's newest sample set of the final weights rendered with the experiment's
current samples: settings, against <goldens>/<variant>/ (regression.goldens, default
experiments/goldens/<experiment>/), which holds the accepted images, their scores and face embeddings,
and golden.json with the environment fingerprint (GPU, driver, CUDA build, torch, diffusers, script
sha256, model commits, weights sha256, sampler settings).

Tiers, chosen by comparing the fingerprints (tolerances under regression.tolerances):
  exact        same stack and GPU: pixelmatch at threshold 0 (every pixel that is not identical
               counts) under exact.mismatch_ratio, and the largest channel difference under
               exact.max_channel_diff
  perceptual   same GPU architecture (compute capability), other versions, driver or card:
               pixelmatch at perceptual.pixel_threshold, SSIM on luma ≥ perceptual.min_ssim, and the
               face-embedding drift (1 − cosine) per image ≤ perceptual.max_embedding_drift
  statistical  anything else (another architecture, other weights, models, device or dtype): per
               scene, the mean over seeds of each scoring marker may move at most
               statistical.max_mean_shift_se standard errors of the golden's own seed-to-seed mean
--tier forces one (the report says so). Settings in samples: that differ from the goldens (prompts,
seeds, steps, size, scheduler, guidance, LoRA scale, negative prompt) are a usage error, not a
regression: either restore them or accept new goldens.

Writes runs/<experiment>/_checks/<variant>.json (the same JSON --json prints) and a pixelmatch diff
image per failing image under _checks/<variant>-diffs/.

--variant picks the run to check (default: the experiment's regression.variant, else baseline).

A check that compared nothing is inconclusive, never a pass: at the statistical tier, when no scene has
marker values on both sides (goldens of noise or faceless images: the scorer found no face or body), or
when the goldens list no images. It exits 4 with the reason and the way out: compare pixels with --tier
exact or --tier perceptual, or accept goldens whose images carry usable scores. --accept warns when the
goldens it writes have no usable scores.


${exitCodesHelp('check')}

Examples:
  harness check experiments/tok-boy.yaml --accept          # accept the baseline's samples as goldens
  git add experiments/goldens/tok-boy                     # goldens are meant to be committed
  harness check experiments/tok-boy.yaml                   # later, or on another machine
  harness check experiments/tok-boy.yaml --variant rank-16 --tier perceptual --json`,
    );
  storeOption(datasetOption(jsonOption(command))).action(async (experiment: string, opts: CheckFlags) => {
    const commands = await import('../commands/check.ts');
    const variant = single('--variant', opts.variant, 'check one variant at a time');
    const common = { experiment, cwd: ctx.io.cwd, env: ctx.io.env, store: opts.store, dataset: opts.dataset, variant, tier: opts.tier, score: opts.score };
    if (opts.accept) {
      const result = await commands.accept(common);
      emit(ctx.io, opts.json, result, renderAccept);
      return;
    }
    const { report, reportFile } = await commands.check(common);
    emit(ctx.io, opts.json, report, (r, io) => renderReport(r, io, reportFile));
    if (report.verdict === 'regression') ctx.setExitCode(ExitCode.failed);
    else if (report.verdict === 'inconclusive') ctx.setExitCode(ExitCode.inconclusive);
  });
}

function renderAccept(r: AcceptResult, io: Io): string {
  const gpu = r.fingerprint.gpu ? `${r.fingerprint.gpu.name ?? '?'} (compute ${r.fingerprint.gpu.capability ?? '?'})` : 'no GPU';
  const lines = [
    `${io.style.green('accepted')} ${r.images} images of ${r.setId} (run ${r.runId}) as the goldens of ${io.style.bold(r.variant)}`,
    `  → ${r.dir}${r.replaced ? ` (replaced ${r.replaced})` : ''}`,
    `  rendered on ${gpu}, torch ${r.fingerprint.torch ?? '?'}, diffusers ${r.fingerprint.diffusers ?? '?'}; scores ${r.scored ? 'included' : 'none'}`,
    '  commit the folder so other machines and CI check against it',
  ];
  for (const warning of r.warnings) lines.push(`${io.style.yellow('warning')} ${warning}`);
  return lines.join('\n');
}

function numbers(image: ImageCheck): string {
  const m = image.metrics;
  const f = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? '–' : v.toFixed(digits));
  if (image.tier === 'exact' && 'mismatchRatio' in m) return `mismatch ${percent(m.mismatchRatio)} · max Δ ${m.maxChannelDiff ?? '–'}`;
  if (image.tier === 'perceptual' && 'ssim' in m) {
    return `mismatch ${percent(m.mismatchRatio)} · SSIM ${f(m.ssim, 4)} · drift ${f(m.embeddingDrift, 3)}`;
  }
  if (image.tier === 'statistical') {
    return Object.keys(m)
      .filter((k) => !k.includes('.'))
      .map((k) => `${k} ${f(m[k], 2)} vs ${f(m[`${k}.golden`], 2)}`)
      .join(' · ');
  }
  return '';
}

function percent(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  const p = value * 100;
  return `${p > 0 && p < 0.01 ? p.toPrecision(1) : p.toFixed(2)}%`;
}

function renderReport(r: CheckReport, io: Io, reportFile: string): string {
  const paint = (verdict: string) => (verdict === 'pass' ? io.style.green(verdict) : verdict === 'inconclusive' ? io.style.yellow(verdict) : io.style.red(verdict));
  const rows = r.images.map((image) => [image.promptId, String(image.seed), image.tier, numbers(image), paint(image.verdict)]);
  const lines = [
    `${io.style.bold(r.experiment)} · ${r.variant} · run ${r.runId} · set ${r.sampleSetId} vs golden ${r.goldenSetId}`,
    `tier ${io.style.bold(r.tier)}: ${r.tierReason}`,
    '',
    table(['scene', 'seed', 'tier', r.tier === 'statistical' ? 'scores (current vs golden)' : 'numbers', 'verdict'], rows),
  ];
  const notes = r.images.filter((i) => i.note && i.verdict !== 'pass');
  if (notes.length) {
    lines.push('');
    for (const image of notes) lines.push(`${image.promptId} seed ${image.seed}: ${image.note}${image.diff ? ` (diff: ${image.diff})` : ''}`);
  }
  if (r.tier === 'statistical') {
    lines.push('', table(['scene', 'marker shifts (SE of the golden mean)', 'verdict'], r.scenes.map((s) => [s.promptId, sceneShifts(s.metrics), paint(s.verdict)])));
    for (const scene of r.scenes.filter((s) => s.note)) lines.push(`${scene.promptId}: ${scene.note}`);
  }
  for (const warning of r.warnings ?? []) lines.push(`${io.style.yellow('warning')} ${warning}`);
  const failed = r.images.filter((i) => i.verdict === 'regression' || i.verdict === 'missing').length;
  if (r.verdict === 'inconclusive') {
    lines.push(
      '',
      `${io.style.yellow('inconclusive')}: nothing was compared at the ${r.tier} tier, so this is not a pass (report: ${reportFile})`,
      `  why: ${r.inconclusive?.reason ?? 'no compared values'}`,
      `  way out: ${r.inconclusive?.hint ?? 'force a pixel tier with --tier exact'}`,
    );
    return lines.join('\n');
  }
  lines.push(
    '',
    r.verdict === 'pass'
      ? `${io.style.green('pass')}: ${r.images.length} images at the ${r.tier} tier (report: ${reportFile})`
      : `${io.style.red('regression')}: ${failed} of ${r.images.length} images${r.tier === 'statistical' ? ` (${r.scenes.filter((s) => s.verdict === 'regression').length} scenes)` : ''} (report: ${reportFile}); if the change is intended, accept it with --accept`,
  );
  return lines.join('\n');
}

function sceneShifts(metrics: Record<string, number | null>): string {
  return Object.keys(metrics)
    .filter((k) => k.endsWith('.shiftSe'))
    .map((k) => {
      const v = metrics[k];
      return `${k.slice(0, -'.shiftSe'.length)} ${v === null || v === undefined ? '–' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`}`;
    })
    .join(' · ');
}
