// Pure: the summary paragraph, every clause computed from the numbers (and silent where they are missing).
import type { Aggregate } from '../scoring/types.ts';
import type { ReportModel, RunRow } from './analyze.ts';
import { intervalsSeparate } from './analyze.ts';
import { mdText } from './escape.ts';
import { duration, fixed, gib, interval, percent, signed } from './format.ts';

/** Aggregates whose name says they measure how well an image follows its prompt (none in scorer v1). */
const PROMPT_KEYS = /prompt|clip|text/i;

export function summaryParagraph(model: ReportModel): string {
  const sentences: string[] = [];
  const rows = model.rows;
  const done = rows.filter((r) => r.state === 'done').length;
  const failed = rows.filter((r) => r.state === 'failed');
  const scored = rows.filter((r) => r.rank !== null).sort((a, b) => a.rank! - b.rank!);
  const unfinished = rows.length - done - failed.length;
  const counts = [`${rows.length} run${rows.length === 1 ? '' : 's'}`, `${done} done`];
  if (failed.length > 0) counts.push(`${failed.length} failed`);
  if (unfinished > 0) counts.push(`${unfinished} not finished`);
  sentences.push(`${counts.join(', ')}; ${scored.length} with identity scores.`);

  if (scored.length === 0) {
    // scored, but on zero images: say that, not "yet" (a mean of no scores is no score, never 0)
    const faceless = rows.filter((r) => r.identity === null && r.finalSet?.scores?.summary?.identity?.n === 0);
    sentences.push(
      faceless.length > 0
        ? `Nothing to compare: the final samples of ${faceless.map(name).join(', ')} were scored, but no image had a usable face (identity on 0 of ${faceless[0]!.finalSet!.scores!.summary.identity.total} images), so no run has an identity score.`
        : 'Not enough data to decide which run is best: no run has identity scores yet.',
    );
  } else if (scored.length === 1) {
    const only = scored[0]!;
    sentences.push(`Only ${name(only)} has scores (identity ${interval(only.identity!)}, ${faceCoverage(only.identity!)}), so there is nothing to compare it with yet.`);
  } else {
    sentences.push(...bestSentences(model, scored));
  }
  const promptKey = model.scoreKeys.find((k) => PROMPT_KEYS.test(k));
  if (scored.length > 0) {
    sentences.push(
      promptKey
        ? promptSentence(scored, promptKey)
        : 'Prompt adherence is not scored (the score files hold no text–image measure): judge it from the contact sheets below.',
    );
  }
  if (failed.length > 0) {
    const byReason = new Map<string, string[]>();
    for (const row of failed) byReason.set(row.reason ?? 'unknown', [...(byReason.get(row.reason ?? 'unknown') ?? []), name(row)]);
    const parts = [...byReason.entries()].map(([reason, names]) => `${reason}: ${names.join(', ')}`);
    sentences.push(`Failed: ${parts.join('; ')}.`);
  }
  return sentences.join(' ');
}

function bestSentences(model: ReportModel, scored: RunRow[]): string[] {
  const out: string[] = [];
  const best = scored[0]!;
  const second = scored[1]!;
  const id = best.identity!;
  out.push(
    `${name(best)} ranks first (weighted score ${fixed(best.composite, 3)}) with identity ${interval(id)} (${faceCoverage(id)}).`,
  );
  const secondId = second.identity!;
  const separation = intervalsSeparate(id, secondId);
  if (separation === 'up') out.push(`Its identity interval lies above that of the runner-up ${name(second)} (${interval(secondId)}).`);
  else if (separation === 'down') out.push(`The runner-up ${name(second)} has the higher identity (${interval(secondId)}); ${name(best)} leads on the other markers.`);
  else {
    const tied = scored.slice(1).filter((r) => intervalsSeparate(id, r.identity!) === null && r.identity!.ci95);
    out.push(
      `Its identity interval overlaps ${tied.length === 1 ? `that of ${name(second)}` : `those of ${tied.length} other runs`}, so with these seeds identity does not separate ${tied.length === 1 ? 'the two' : 'them'}.`,
    );
  }
  const baseline = model.baseline;
  if (baseline && baseline !== best && baseline.identity) {
    const d = best.deltas.identity;
    if (d) {
      out.push(
        `Against the baseline (${interval(baseline.identity)}) identity moves ${signed(d.value, 3)}, ${d.significant ? 'a significant change (the intervals separate)' : 'within the noise (the intervals overlap)'}.`,
      );
    }
    const better = model.scoreKeys.filter((k) => k !== 'identity' && best.deltas[k]?.significant === 'up');
    const worse = model.scoreKeys.filter((k) => k !== 'identity' && best.deltas[k]?.significant === 'down');
    if (better.length > 0 || worse.length > 0) {
      const parts = [better.length ? `better on ${better.join(', ')}` : '', worse.length ? `worse on ${worse.join(', ')}` : ''].filter(Boolean);
      out.push(`On the markers it is significantly ${parts.join(' and ')}.`);
    }
  } else if (baseline === best) {
    out.push('The baseline itself is the best run: no variant beats it.');
  }
  out.push(costSentence(best, baseline));
  const cheaper = scored
    .filter((r) => r !== best && r.costSeconds !== null && best.costSeconds !== null && r.costSeconds < best.costSeconds && intervalsSeparate(id, r.identity!) === null && r.identity!.ci95)
    .sort((a, b) => a.costSeconds! - b.costSeconds! || (a.id < b.id ? -1 : 1))[0];
  if (cheaper) {
    out.push(
      `${name(cheaper)} is not separable from it on identity (${interval(cheaper.identity!)}) at ${percent(cheaper.costSeconds!, best.costSeconds!)} of its training time: the cheaper choice${lowCoverage(cheaper.identity!) ? `, though its identity rests on ${cheaper.identity!.n} of ${cheaper.identity!.total} images` : ''}.`,
    );
  }
  if (lowCoverage(id)) out.push(`Caution: the identity of ${name(best)} rests on ${best.identity!.n} of ${best.identity!.total} images (the others had no usable face).`);
  return out;
}

function costSentence(best: RunRow, baseline: RunRow | null): string {
  const speed = best.facts.secondsPerStep !== null ? `${fixed(best.facts.secondsPerStep, 2)} s/it` : null;
  const vram = best.facts.peakVramMb !== null ? `peak VRAM ${gib(best.facts.peakVramMb)}${best.cardMb ? ` of ${gib(best.cardMb)}` : ''}` : null;
  if (best.costSeconds === null && !speed && !vram) return 'Its cost is unknown (no timed training events).';
  let text = best.costSeconds !== null ? `It trained in ${duration(best.costSeconds)}${speed ? ` at ${speed}` : ''}` : `It ran${speed ? ` at ${speed}` : ''}`;
  if (baseline && baseline !== best && baseline.costSeconds !== null && best.costSeconds !== null) {
    text += ` (${percent(best.costSeconds, baseline.costSeconds)} of the baseline's ${duration(baseline.costSeconds)})`;
  }
  if (vram) text += `${speed || best.costSeconds !== null ? ',' : ''} ${vram}`;
  return `${text}.`;
}

function promptSentence(scored: RunRow[], key: string): string {
  const withKey = scored.filter((r) => typeof r.scores?.[key]?.mean === 'number');
  if (withKey.length === 0) return `No run has a ${key} score yet.`;
  const top = [...withKey].sort((a, b) => b.scores![key]!.mean! - a.scores![key]!.mean! || (a.id < b.id ? -1 : 1))[0]!;
  const best = scored[0]!;
  return top === best
    ? `It also leads on ${key} (${interval(top.scores![key])}).`
    : `On ${key}, ${name(top)} leads (${interval(top.scores![key])}) against ${interval(best.scores![key] as Aggregate | undefined)} for ${name(best)}: identity and prompt adherence pull apart.`;
}

/** Fewer than half the images gave a face: the interval is wide and the mean easily moved. */
function lowCoverage(a: Aggregate): boolean {
  return a.total > 0 && a.n / a.total < 0.5;
}

function faceCoverage(a: Aggregate): string {
  return `${a.n}/${a.total} images scored`;
}

function name(row: RunRow): string {
  return `**${mdText(row.id)}**`;
}
