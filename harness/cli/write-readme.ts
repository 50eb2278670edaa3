// `npm run readme`: regenerates the README's exit-code table and flags section from the commands
// (tests/cli/contract.test.ts fails while they are stale).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../cli.ts';
import { exitCodesMarkdown, flagsMarkdown } from './contract.ts';
import { defaultIo } from './io.ts';

export const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md');

/** The README with its generated sections (between `<!-- name:start -->` and `<!-- name:end -->`) replaced. */
export function withGeneratedSections(text: string): string {
  const program = buildProgram({ io: defaultIo(), setExitCode: () => {} });
  const sections: Record<string, string> = { 'exit-codes': exitCodesMarkdown(), flags: flagsMarkdown(program) };
  let out = text;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- ${name}:start[^>]*-->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!pattern.test(out)) throw new Error(`README.md has no <!-- ${name}:start --> … <!-- ${name}:end --> section`);
    out = out.replace(pattern, (_, start: string, end: string) => `${start}\n${body}\n${end}`);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await readFile(README, 'utf8');
  await writeFile(README, withGeneratedSections(text));
  console.log('wrote the generated sections of README.md');
}
