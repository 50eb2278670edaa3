// Score reports of the sets being compared: read from the store, or computed with the scoring API when a
// tier needs them and the current set has none yet. Never invented.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, HarnessError } from '../errors.ts';
import type { ImageScore, ScoreReport } from '../scoring/types.ts';
import { writeFileAtomic } from '../store/atomic.ts';

export async function readScoreReport(file: string): Promise<ScoreReport | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new HarnessError(`cannot read scores ${file}: ${(error as Error).message}`, { exitCode: ExitCode.usage });
  }
  let report: ScoreReport;
  try {
    report = JSON.parse(text) as ScoreReport;
  } catch (error) {
    throw new HarnessError(`scores ${file} are not valid JSON: ${(error as Error).message}`, {
      exitCode: ExitCode.usage,
      hint: 'delete the file and score the set again',
    });
  }
  if (!Array.isArray(report.images)) {
    throw new HarnessError(`scores ${file} have no images list`, { exitCode: ExitCode.usage, hint: 'delete the file and score the set again' });
  }
  return report;
}

/** Scores keyed by file name (reports may name images by path or by name). */
export function scoresByFile(report: ScoreReport | null): Map<string, ImageScore> {
  const out = new Map<string, ImageScore>();
  for (const image of report?.images ?? []) out.set(path.basename(image.file), image);
  return out;
}

/** Scores the set's images against the experiment's reference photos and keeps the report in the store. */
export async function scoreSet(options: { setDir: string; files: string[]; referenceDir: string; scoresFile: string }): Promise<ScoreReport> {
  const { createScorer } = await import('../scoring/index.ts');
  const scorer = await createScorer({ referenceDir: options.referenceDir, embeddings: true });
  try {
    const report = await scorer.scoreFiles(
      options.files.map((f) => path.join(options.setDir, f)),
      { names: options.files },
    );
    await writeFileAtomic(options.scoresFile, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await scorer.close();
  }
}
