// What other parts use of regression checks: `sweep --check`, reports.
export { checkRun, type CheckRunOptions } from './check-run.ts';
export { acceptGolden, type AcceptOptions, type AcceptResult } from './accept.ts';
export { readGolden, type GoldenManifest } from './golden.ts';
export { GoldensError } from './errors.ts';
export type { CheckReport, ImageCheck, SceneCheck, Tier, Verdict } from './types.ts';
