// `npm run bench`: every bench/<area>.ts that exports `bench()`, one after the other (2 cores: never in
// parallel), printing what each measured. Speed and memory targets live here, never in timed tests.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.ts') && f !== 'run.ts').sort();
let failed = 0;
for (const file of files) {
  const area = file.replace(/\.ts$/, '');
  if (only.length > 0 && !only.includes(area)) continue;
  process.stdout.write(`\n## ${area}\n`);
  try {
    const module = (await import(pathToFileURL(path.join(here, file)).href)) as { bench?: () => Promise<Record<string, number | string>> };
    if (typeof module.bench !== 'function') throw new Error(`${file} exports no bench()`);
    const started = performance.now();
    const results = await module.bench();
    for (const [key, value] of Object.entries(results)) process.stdout.write(`  ${key}: ${typeof value === 'number' ? round(value) : value}\n`);
    process.stdout.write(`  (bench took ${round((performance.now() - started) / 1000)} s)\n`);
  } catch (error) {
    failed += 1;
    process.stdout.write(`  FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;

function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
}
