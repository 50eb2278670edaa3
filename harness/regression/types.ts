// Contract of regression-check results (issue 9), shown by reports and sweep.

export type Tier = 'exact' | 'perceptual' | 'statistical';
/** `inconclusive`: nothing could be compared (no marker values in the goldens or the current set): never a pass */
export type Verdict = 'pass' | 'regression' | 'missing' | 'inconclusive';

export interface ImageCheck {
  promptId: string;
  seed: number;
  tier: Tier;
  verdict: Verdict;
  /** the numbers the verdict rests on, e.g. mismatchRatio, maxChannelDiff, ssim, embeddingDrift */
  metrics: Record<string, number | null>;
  /** diff image, relative to the check report's folder */
  diff?: string;
  note?: string;
}

export interface SceneCheck {
  promptId: string;
  tier: Tier;
  verdict: Verdict;
  /** statistical tier: per marker, the mean shift in units of the golden's standard error */
  metrics: Record<string, number | null>;
  note?: string;
}

/** One environment-fingerprint field that differs between the golden and the current set. */
export interface FingerprintDifference {
  field: string;
  golden: unknown;
  current: unknown;
}

/** `runs/<experiment>/_checks/<variant>.json` (also printed by `harness check --json`). */
export interface CheckReport {
  schemaVersion: number;
  experiment: string;
  variant: string;
  runId: string;
  sampleSetId: string;
  goldenSetId: string;
  tier: Tier;
  /** why this tier: which fingerprint fields matched or differed */
  tierReason: string;
  /** inconclusive: the check compared nothing (e.g. no face in any golden image at the statistical tier) */
  verdict: 'pass' | 'regression' | 'inconclusive';
  /** why nothing was compared, and the way out; set only when the verdict is inconclusive */
  inconclusive?: { reason: string; hint: string };
  images: ImageCheck[];
  scenes: SceneCheck[];
  checkedAt: string;
  /** true when `--tier` chose the tier instead of the fingerprints */
  tierForced?: boolean;
  /** every fingerprint field that differs (empty: same stack and GPU) */
  differences?: FingerprintDifference[];
  /** the tolerances the verdicts used */
  tolerances?: Record<string, number>;
  /** things a reader should know that are not regressions (e.g. another scorer version) */
  warnings?: string[];
}
