// Pure: which sampling settings differ between the golden and the experiment. Such a difference makes the
// images incomparable, so it is a usage error, never a regression.
import type { SamplingSpec } from '../samples/types.ts';
import { canonicalJson, hashObject } from '../util/hash.ts';

export interface SpecDifference {
  field: string;
  golden: unknown;
  current: unknown;
}

const SCALAR_FIELDS = ['steps', 'guidance_scale', 'scheduler', 'width', 'height', 'lora_scale', 'negative_prompt'] as const;

export function specHash(spec: SamplingSpec): string {
  return hashObject(spec);
}

export function diffSpecs(golden: SamplingSpec, current: SamplingSpec): SpecDifference[] {
  const out: SpecDifference[] = [];
  for (const field of SCALAR_FIELDS) {
    if (!same(golden[field], current[field])) out.push({ field, golden: golden[field], current: current[field] });
  }
  if (!same(golden.seeds, current.seeds)) out.push({ field: 'seeds', golden: golden.seeds, current: current.seeds });
  const goldenIds = golden.prompts.map((p) => p.id);
  const currentIds = current.prompts.map((p) => p.id);
  if (!same(goldenIds, currentIds)) out.push({ field: 'prompts (ids)', golden: goldenIds, current: currentIds });
  const currentById = new Map(current.prompts.map((p) => [p.id, p]));
  for (const prompt of golden.prompts) {
    const other = currentById.get(prompt.id);
    if (!other) continue;
    if (prompt.prompt !== other.prompt) out.push({ field: `prompts.${prompt.id}.prompt`, golden: prompt.prompt, current: other.prompt });
    if ((prompt.negative_prompt ?? null) !== (other.negative_prompt ?? null)) {
      out.push({ field: `prompts.${prompt.id}.negative_prompt`, golden: prompt.negative_prompt ?? null, current: other.negative_prompt ?? null });
    }
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}
