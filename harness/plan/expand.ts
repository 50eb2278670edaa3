// The sweeper only expands: baseline + variants + grid → named override sets, in file order.
import { ALWAYS_EXPLICIT } from '../config/flags.ts';
import type { ExperimentFile, TrainingSettings } from '../config/schema.ts';

export type SettingValue = string | number | boolean;

export interface VariantDef {
  name: string;
  /** where it came from, for messages: ['variants', name] or ['grid'] */
  origin: readonly (string | number)[];
  overrides: TrainingSettings;
}

export const BASELINE = 'baseline';

export function expandVariants(config: Pick<ExperimentFile, 'variants' | 'grid'>): VariantDef[] {
  const variants: VariantDef[] = [{ name: BASELINE, origin: ['baseline'], overrides: {} }];
  for (const [name, overrides] of Object.entries(config.variants ?? {})) {
    variants.push({ name, origin: ['variants', name], overrides: overrides as TrainingSettings });
  }
  for (const point of gridPoints(config.grid ?? {})) {
    variants.push({ name: gridName(point), origin: ['grid'], overrides: point });
  }
  return variants;
}

export function gridPoints(grid: Record<string, SettingValue[]>): TrainingSettings[] {
  let points: TrainingSettings[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    points = points.flatMap((point) => values.map((value) => ({ ...point, [key]: value })));
  }
  return Object.keys(grid).length === 0 ? [] : points;
}

/** `grid-learning_rate_5e-05-rank_16`: readable, and only characters a W&B run name allows. */
export function gridName(point: TrainingSettings): string {
  const parts = Object.entries(point).map(([key, value]) => `${key}_${String(value).replace(/[^A-Za-z0-9-]/g, 'p')}`);
  return `grid-${parts.join('-')}`;
}

/** Every run's variant with its resolved training settings (resolveSettings), in expandVariants' order. */
export function variantSettings(config: Pick<ExperimentFile, 'variants' | 'grid' | 'baseline'>): (VariantDef & { settings: TrainingSettings })[] {
  return expandVariants(config).map((v) => ({ ...v, settings: resolveSettings(config.baseline as TrainingSettings, v.overrides) }));
}

/** Defaults (written out so nothing is left to the script) → baseline → overrides: later wins. */
export function resolveSettings(baseline: TrainingSettings, overrides: TrainingSettings): TrainingSettings {
  return { ...ALWAYS_EXPLICIT, ...baseline, ...overrides };
}
