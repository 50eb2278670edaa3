// Marker weights of the ranking when the report is built from a store without its experiment file:
// the schema's defaults (harness/config/schema.ts scoring.weights).
export const DEFAULT_WEIGHTS: Record<string, number> = { identity: 0.55, curls: 0.15, nose: 0.15, neck: 0.15 };
