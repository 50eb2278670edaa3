// Contract of identity scores (issue 6), consumed by sweep, reports, regression and tracking.

export const MARKERS = ['identity', 'curls', 'nose', 'neck'] as const;
export type Marker = (typeof MARKERS)[number];

export type MissingReason = 'no_face' | 'profile' | 'back_view' | 'shoulders_hidden' | 'hair_occluded' | 'unreadable';

export interface ImageScore {
  file: string;
  sha256: string;
  /** null when missing: a missing marker is never zero */
  identity: number | null;
  curls: number | null;
  nose: number | null;
  neck: number | null;
  face: boolean;
  /** head rotation in degrees (0 = facing the camera), when a face was found */
  yaw?: number;
  pitch?: number;
  /** MoveNet's overall body keypoint confidence, 0..1 */
  bodyConfidence?: number;
  missing: Partial<Record<Marker, MissingReason>>;
  /** face embedding (for drift checks); absent without a face */
  embedding?: number[];
  /**
   * the raw measures behind nose (ratios) and neck: chin-to-shoulders / face height (neck), or, without a
   * usable face, ears-to-shoulders / shoulder span (neckPose)
   */
  measures?: { nose?: number[]; neck?: number; neckPose?: number };
  /** where the curls band was read (mesh: above the forehead; pose: the head from body keypoints), and its shares inside the picture and on the person */
  hair?: { from: 'mesh' | 'pose'; inside: number; person: number };
  error?: string;
}

export interface Aggregate {
  mean: number | null;
  median: number | null;
  /** bootstrap 95 % interval over seeds */
  ci95: [number, number] | null;
  /** how many images this rests on, of how many */
  n: number;
  total: number;
}

export interface ScoreReport {
  schemaVersion: number;
  scorer: { version: string; models: Record<string, string> };
  reference: {
    dir?: string;
    count: number;
    ceiling: Partial<Record<Marker, Aggregate>>;
    /** per reference photo: its leave-one-out scores against the others */
    images?: ImageScore[];
    /** markers the references cannot support (e.g. no frontal face for the nose) */
    warnings?: string[];
  };
  images: ImageScore[];
  summary: Record<Marker, Aggregate>;
  /** per prompt id (file names `<prompt-id>__s<seed>.png`), when the images follow that naming */
  perPrompt?: Record<string, Record<Marker, Aggregate>>;
  /** per marker, how many images lack it and why (e.g. neck gated out: shoulders_hidden) */
  missingCounts?: Record<Marker, Partial<Record<MissingReason, number>>>;
}
