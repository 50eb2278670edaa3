// `harness report`: rebuild reports/<experiment>/ from the run store (DESIGN.md §9).
import path from 'node:path';
import { buildReport, type BuildReportResult } from '../report/build.ts';
import { reportDir } from '../store/layout.ts';
import { loadTrainedContext, type ContextOptions } from './context.ts';

export interface ReportOptions extends ContextOptions {
  /** report folder; default reports/<experiment> in the working folder */
  out?: string;
}

export async function report(options: ReportOptions): Promise<BuildReportResult> {
  const context = await loadTrainedContext(options);
  const outDir = options.out ? path.resolve(options.cwd, options.out) : reportDir(options.cwd, context.plan.experiment);
  return buildReport({ context, outDir });
}
