// Number formats of the report: fixed rounding so the Markdown is byte-stable and easy to scan.
import type { Aggregate } from '../scoring/types.ts';

export const DASH = '–';

export function fixed(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const text = value.toFixed(digits);
  // -0.000 reads as a sign that is not there
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

export function signed(value: number, digits: number): string {
  const text = fixed(value, digits);
  return value > 0 && text !== fixed(0, digits) ? `+${text}` : text.replace(/^-/, '−');
}

export function gib(mb: number | null | undefined): string {
  return mb === null || mb === undefined ? DASH : `${fixed(mb / 1024, 1)} GiB`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function interval(aggregate: Aggregate | undefined, digits = 3): string {
  if (!aggregate || aggregate.mean === null) return DASH;
  const ci = aggregate.ci95 ? ` [${fixed(aggregate.ci95[0], digits)}, ${fixed(aggregate.ci95[1], digits)}]` : '';
  return `${fixed(aggregate.mean, digits)}${ci}`;
}

export function coverage(aggregate: Aggregate | undefined): string {
  return aggregate ? `${aggregate.n}/${aggregate.total}` : DASH;
}

export function percent(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)} %`;
}
