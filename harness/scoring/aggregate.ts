// Aggregates over seeds: per prompt and per set, missing values excluded and counted. Pure.
import { bootstrapCi, mean, median, round } from './stats.ts';
import { MARKERS, type Aggregate, type ImageScore, type Marker, type MissingReason } from './types.ts';

const PROMPT_FILE = /^(.+)__s(\d+)\.(png|jpe?g|webp)$/i;

/** `<prompt-id>__s<seed>.png` → { prompt, seed }; null for other names. */
export function parseSampleName(file: string): { prompt: string; seed: number } | null {
  const base = file.split(/[\\/]/).pop() ?? file;
  const match = PROMPT_FILE.exec(base);
  return match ? { prompt: match[1]!, seed: Number(match[2]) } : null;
}

export function aggregate(values: readonly (number | null)[]): Aggregate {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return { mean: null, median: null, ci95: null, n: 0, total: values.length };
  const ci = bootstrapCi(present);
  return {
    mean: round(mean(present)),
    median: round(median(present)),
    ci95: ci ? [round(ci[0]), round(ci[1])] : null,
    n: present.length,
    total: values.length,
  };
}

export function summarise(scores: readonly ImageScore[]): Record<Marker, Aggregate> {
  return Object.fromEntries(MARKERS.map((marker) => [marker, aggregate(scores.map((s) => s[marker]))])) as Record<Marker, Aggregate>;
}

/** Per prompt id, in name order; undefined when no file follows the sample naming. */
export function summarisePerPrompt(scores: readonly ImageScore[]): Record<string, Record<Marker, Aggregate>> | undefined {
  const groups = new Map<string, ImageScore[]>();
  for (const score of scores) {
    const name = parseSampleName(score.file);
    if (!name) continue;
    groups.set(name.prompt, [...(groups.get(name.prompt) ?? []), score]);
  }
  if (groups.size === 0) return undefined;
  return Object.fromEntries([...groups.keys()].sort().map((prompt) => [prompt, summarise(groups.get(prompt)!)]));
}

export function countMissing(scores: readonly ImageScore[]): Record<Marker, Partial<Record<MissingReason, number>>> {
  const counts = Object.fromEntries(MARKERS.map((m) => [m, {}])) as Record<Marker, Partial<Record<MissingReason, number>>>;
  for (const score of scores) {
    for (const marker of MARKERS) {
      const reason = score.missing[marker];
      if (reason) counts[marker][reason] = (counts[marker][reason] ?? 0) + 1;
    }
  }
  return counts;
}
