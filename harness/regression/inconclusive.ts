// Pure: when a check compared nothing. A verdict over zero compared values is inconclusive, never pass
// (DESIGN.md §10): noise images with no face, goldens accepted without usable scores, a golden with no images.
import type { Marker, ScoreReport } from '../scoring/types.ts';
import type { CheckReport, ImageCheck, SceneCheck, Tier } from './types.ts';

/** regression > inconclusive > pass: a check is inconclusive when it has no image, or no scene compared anything. */
export function overallVerdict(images: ImageCheck[], scenes: SceneCheck[]): CheckReport['verdict'] {
  const bad = (v: string) => v === 'regression' || v === 'missing';
  if (images.some((i) => bad(i.verdict)) || scenes.some((s) => bad(s.verdict))) return 'regression';
  if (images.length === 0 || scenes.length === 0 || scenes.every((s) => s.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

/** Per marker, how many images of a score report have a value: `identity 0/4, curls 0/4, …`. */
export function valueCounts(scores: ScoreReport | null, markers: readonly Marker[]): { marker: Marker; n: number; total: number }[] {
  const images = scores?.images ?? [];
  return markers.map((marker) => ({
    marker,
    n: images.filter((i) => typeof i[marker] === 'number' && Number.isFinite(i[marker])).length,
    total: images.length,
  }));
}

export function usableValues(scores: ScoreReport | null, markers: readonly Marker[]): number {
  return valueCounts(scores, markers).reduce((sum, c) => sum + c.n, 0);
}

function counts(scores: ScoreReport | null, markers: readonly Marker[]): string {
  return valueCounts(scores, markers)
    .map((c) => `${c.marker} ${c.n}/${c.total}`)
    .join(', ');
}

/** The reason a check compared nothing and the way out, for the message, the JSON and the report. */
export function whyInconclusive(input: {
  tier: Tier;
  images: number;
  golden: ScoreReport | null;
  current: ScoreReport | null;
  markers: readonly Marker[];
  acceptCommand: string;
}): { reason: string; hint: string } {
  if (input.images === 0) {
    return { reason: 'the goldens list no images, so no image was compared', hint: `accept goldens that have images: ${input.acceptCommand}` };
  }
  const goldenValues = usableValues(input.golden, input.markers);
  const where =
    goldenValues === 0
      ? `the goldens have no usable marker values (${counts(input.golden, input.markers)}: the scorer found no face or body in them)`
      : `no scene has marker values that can be compared (goldens: ${counts(input.golden, input.markers)}; current set: ${counts(input.current, input.markers)}; a scene needs 2 golden values of a marker for a seed-to-seed spread)`;
  return {
    reason: `${where}, so the ${input.tier} tier compared nothing`,
    hint:
      `compare pixels instead with --tier exact (same stack and GPU) or --tier perceptual (same GPU architecture), ` +
      `or accept goldens whose images carry usable scores (a face the scorer finds): ${input.acceptCommand}`,
  };
}

/** For `check --accept`: goldens the statistical tier cannot judge against, said before anyone relies on them. */
export function unusableScoresWarning(scores: ScoreReport, markers: readonly Marker[]): string | null {
  if (usableValues(scores, markers) > 0) return null;
  return (
    `the goldens' scores have no usable values (${counts(scores, markers)}: the scorer found no face or body in any image): ` +
    'a check at the statistical tier (another GPU or stack, other weights) will be inconclusive; only the exact and perceptual tiers, which compare pixels, can check against these goldens'
  );
}
