// `harness report`: rebuild reports/<experiment>/ from the run store (DESIGN.md §9).
import path from 'node:path';
import { buildReport, type BuildReportResult } from '../report/build.ts';
import { reportDir } from '../store/layout.ts';
import { loadTrainedContext, type ContextOptions } from './context.ts';

export interface ReportOptions extends ContextOptions {
  /** report folder; default reports/<experiment> beside the store (reportDir) */
  out?: string;
}

export async function report(options: ReportOptions): Promise<BuildReportResult> {
  const { storeWarnings, ...context } = await loadTrainedContext(options);
  const outDir = options.out ? path.resolve(options.cwd, options.out) : reportDir(context.storeRoot, context.plan.experiment);
  const built = await buildReport({ context, outDir });
  return { ...built, warnings: [...storeWarnings, ...built.warnings] };
}
