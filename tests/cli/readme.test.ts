import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { harness, REPO } from '../helpers/cli.ts';

const SUBCOMMANDS: Record<string, string[]> = { dataset: ['check', 'prepare'], export: ['wandb-sweep', 'slurm'] };

/** `harness …` invocations in the README's shell blocks: the command path and the long flags used. */
async function readmeInvocations(): Promise<{ line: string; path: string[]; flags: string[] }[]> {
  const text = await readFile(path.join(REPO, 'README.md'), 'utf8');
  const blocks = [...text.matchAll(/```(?:sh|console)\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const out = [];
  for (const block of blocks) {
    for (const raw of block.split('\n')) {
      const line = raw.replace(/#.*$/, '');
      for (const segment of line.split(/&&|\|/)) {
        const match = segment.match(/(?:^|\s)(?:npx |\$ npx |\$ )?harness ([a-z-]+)(?: ([a-z-]+))?(.*)$/);
        if (!match || raw.trimStart().startsWith('error') || raw.trimStart().startsWith('warning')) continue;
        const [, command, maybeSub, rest = ''] = match;
        const sub = maybeSub && SUBCOMMANDS[command!]?.includes(maybeSub) ? [maybeSub] : [];
        const tail = sub.length ? rest : `${maybeSub ? ` ${maybeSub}` : ''}${rest}`;
        out.push({ line: raw.trim(), path: [command!, ...sub], flags: [...tail.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!) });
      }
    }
  }
  return out;
}

describe('the README', () => {
  it('uses only harness commands and flags that exist', async () => {
    const invocations = await readmeInvocations();
    expect(invocations.length).toBeGreaterThan(15);
    const help = new Map<string, string>();
    for (const { line, path: commandPath, flags } of invocations) {
      const key = commandPath.join(' ');
      if (!help.has(key)) {
        const result = await harness([...commandPath, '--help']);
        expect(result.stdout, `harness ${key} (from: ${line})`).toContain(`Usage: harness ${key}`);
        help.set(key, result.stdout);
      }
      for (const flag of flags) expect(help.get(key), `${flag} in: ${line}`).toContain(flag);
    }
  });
});
