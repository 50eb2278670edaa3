// `harness check`: compare a variant's current samples with its goldens, or (--accept) make them the goldens.
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { acceptGolden, type AcceptResult } from '../regression/accept.ts';
import { checkRun } from '../regression/check-run.ts';
import type { CheckReport, Tier } from '../regression/types.ts';
import { checksLayout } from '../store/layout.ts';
import { loadTrainedContext, type ContextOptions } from './context.ts';

export const TIERS: readonly Tier[] = ['exact', 'perceptual', 'statistical'];

export interface CheckOptions extends ContextOptions {
  variant?: string;
  tier?: string;
  /** default true: score a set that has no scores when the tier (or the golden) needs them */
  score?: boolean;
}

export function parseTier(value: string | undefined): Tier | undefined {
  if (value === undefined) return undefined;
  if ((TIERS as string[]).includes(value)) return value as Tier;
  throw new UsageError(`--tier must be one of ${TIERS.join(', ')}, not "${value}"`);
}

export interface CheckResult {
  report: CheckReport;
  /** where the report and the diff images were written */
  reportFile: string;
  diffsDir: string;
}

export async function check(options: CheckOptions): Promise<CheckResult> {
  const tier = parseTier(options.tier);
  const context = await loadTrainedContext(options);
  const report = await checkRun({
    experiment: context.experiment,
    storeRoot: context.storeRoot,
    plan: context.plan,
    variant: options.variant,
    tier,
    scoreMissing: options.score !== false,
    displayFile: path.relative(options.cwd, context.experiment.file) || context.experiment.file,
  });
  const checks = checksLayout(context.storeRoot, context.experiment.name);
  return { report, reportFile: checks.report(report.variant), diffsDir: checks.diffsDir(report.variant) };
}

export async function accept(options: CheckOptions): Promise<AcceptResult> {
  if (options.tier !== undefined) throw new UsageError('--tier chooses how to compare; it has no meaning with --accept', 'drop --tier');
  const context = await loadTrainedContext(options);
  return acceptGolden({
    experiment: context.experiment,
    storeRoot: context.storeRoot,
    plan: context.plan,
    variant: options.variant,
    scoreMissing: options.score !== false,
    displayFile: path.relative(options.cwd, context.experiment.file) || context.experiment.file,
  });
}
