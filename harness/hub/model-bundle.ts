// Gathers what `harness push` publishes for one run from the run store and the report folder:
// the LoRA weights, the card, one sample set (+ its scores), spec.json and the report. Reads only.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunSpec } from '../plan/planner.ts';
import { REPORT_FILE, assets } from '../report/assets.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import type { ScoreReport } from '../scoring/types.ts';
import { readJson } from '../store/atomic.ts';
import type { RunLayout } from '../store/layout.ts';
import type { CardInput } from './card.ts';
import type { LocalEntry } from './publish.ts';

export const WEIGHTS_NAME = 'pytorch_lora_weights.safetensors';

export interface Bundle {
  entries: LocalEntry[];
  card: Omit<CardInput, 'repoId' | 'hubUrl' | 'license' | 'weights'> & { weightsFile: string };
  /** what could not be included, said plainly */
  skipped: string[];
}

export async function gatherBundle(layout: RunLayout, spec: RunSpec, opts: { experiment: string; reportDir: string }): Promise<Bundle> {
  const entries: LocalEntry[] = [{ path: WEIGHTS_NAME, file: layout.weights }, { path: 'training/spec.json', file: layout.spec }];
  const skipped: string[] = [];

  const chosen = await latestFinalSet(layout);
  let samples: CardInput['samples'] = null;
  let scores: ScoreReport | null = null;
  if (!chosen) {
    skipped.push(`sample images: the run has no complete sample set of its final weights (${layout.samplesDir}); run \`harness sample\``);
  } else {
    samples = { manifest: chosen.manifest, dir: 'samples' };
    entries.push({ path: 'samples/set.json', file: path.join(chosen.dir, 'set.json') });
    for (const image of chosen.manifest.images) entries.push({ path: `samples/${image.file}`, file: path.join(chosen.dir, image.file) });
    scores = (await readJson<ScoreReport>(layout.scores(chosen.manifest.setId))) ?? null;
    if (scores) entries.push({ path: 'samples/scores.json', file: layout.scores(chosen.manifest.setId) });
    else skipped.push(`identity scores: none for sample set ${chosen.manifest.setId}; run \`harness score\``);
  }

  let report: string | null = null;
  let seriesStrip: string | null = null;
  const reportFile = path.join(opts.reportDir, REPORT_FILE);
  const reportText = await readFile(reportFile, 'utf8').catch(() => null);
  if (reportText === null) {
    skipped.push(`report: ${reportFile} not found; run \`harness report\``);
  } else {
    report = `report/${REPORT_FILE}`;
    entries.push({ path: report, file: reportFile });
    for (const link of await localLinks(reportText, opts.reportDir)) entries.push({ path: `report/${link}`, file: path.join(opts.reportDir, link) });
    const strip = assets.series(spec.id);
    if (entries.some((e) => e.path === `report/${strip}`) || (await isFile(path.join(opts.reportDir, strip)))) {
      seriesStrip = `report/${strip}`;
      if (!entries.some((e) => e.path === seriesStrip)) entries.push({ path: seriesStrip, file: path.join(opts.reportDir, strip) });
    }
  }

  return {
    entries,
    card: { experiment: opts.experiment, spec, samples, scores, seriesStrip, report, env: (await readJson<Record<string, unknown>>(layout.env)) ?? null, weightsFile: WEIGHTS_NAME },
    skipped,
  };
}

async function latestFinalSet(layout: RunLayout): Promise<{ dir: string; manifest: SampleSetManifest } | null> {
  let names: string[];
  try {
    names = await readdir(layout.samplesDir);
  } catch {
    return null;
  }
  const sets: { dir: string; manifest: SampleSetManifest }[] = [];
  for (const name of names) {
    const dir = layout.sampleSet(name);
    const manifest = await readJson<SampleSetManifest>(path.join(dir, 'set.json')).catch(() => undefined);
    if (manifest?.weights.kind === 'final') sets.push({ dir, manifest });
  }
  sets.sort((a, b) => b.manifest.createdAt.localeCompare(a.manifest.createdAt));
  return sets[0] ?? null;
}

/** Relative links of report.md (Markdown and <img src>) to files inside the report folder. */
async function localLinks(markdown: string, dir: string): Promise<string[]> {
  const found = new Set<string>();
  for (const match of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|src="([^"]+)"/g)) {
    const raw = decodeURI(match[1] ?? match[2] ?? '').split('#')[0]!;
    if (!raw || /^[a-z]+:/i.test(raw) || raw.startsWith('/')) continue;
    const rel = path.posix.normalize(raw);
    if (rel.startsWith('..')) continue;
    if (await isFile(path.join(dir, rel))) found.add(rel);
  }
  return [...found].sort();
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
