import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CELLS, notebookJson } from '../../notebooks/source.ts';
import { harness, REPO } from '../helpers/cli.ts';

const NOTEBOOK = path.join(REPO, 'notebooks', 'tok-boy.ipynb');

interface NotebookCell {
  cell_type: string;
  source: string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

/** Every `npx harness …` invocation in the code cells: the command path and the flags it uses. */
function harnessInvocations(): { line: string; words: string[]; flags: string[] }[] {
  const out = [];
  for (const cell of CELLS.filter((c) => c.type === 'code')) {
    for (const line of cell.source.split('\n')) {
      const match = line.match(/npx harness (.*)$/);
      if (!match) continue;
      const tokens = match[1]!.split(/\s+/).filter(Boolean);
      out.push({ line, words: tokens.filter((t) => !t.startsWith('-')), flags: tokens.filter((t) => t.startsWith('--')) });
    }
  }
  return out;
}

describe('the Colab/Kaggle notebook', () => {
  it('is exactly what notebooks/source.ts generates (run `npm run notebook` when this fails)', async () => {
    expect(await readFile(NOTEBOOK, 'utf8')).toBe(notebookJson());
  });

  it('is valid nbformat 4 with outputs stripped', async () => {
    const notebook = JSON.parse(await readFile(NOTEBOOK, 'utf8'));
    expect(notebook.nbformat).toBe(4);
    for (const cell of notebook.cells as NotebookCell[]) {
      if (cell.cell_type === 'code') {
        expect(cell.outputs).toEqual([]);
        expect(cell.execution_count).toBeNull();
      }
    }
    // the reference validator (Debian's python3-nbformat; .ci/run installs it)
    const check = await execa('/usr/bin/python3', ['-c', 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print("valid")', NOTEBOOK], { reject: false });
    expect(check.stderr, 'python3-nbformat must be installed (apt-get install python3-nbformat)').not.toContain('ModuleNotFoundError');
    expect(check.stdout.trim()).toBe('valid');
  });

  it('holds no token or key', async () => {
    const text = await readFile(NOTEBOOK, 'utf8');
    expect(text).not.toMatch(/hf_[A-Za-z0-9]{20,}/);
    expect(text).not.toMatch(/\b[0-9a-f]{40}\b/);
    expect(text).not.toMatch(/(WANDB_API_KEY|HF_TOKEN)['"]?\]?\s*=\s*['"][^'"]+['"]/);
    expect(text).not.toMatch(/print\((value|secret\(|os\.environ\[\\?['"](WANDB_API_KEY|HF_TOKEN))/);
  });

  it('uses only harness commands and flags that exist', async () => {
    const invocations = harnessInvocations();
    expect(invocations.length).toBeGreaterThanOrEqual(8);
    const used = new Set(invocations.map((i) => i.words[0]));
    for (const command of ['dataset', 'caption', 'setup', 'sweep', 'report', 'check', 'push', 'doctor']) expect(used).toContain(command);
    const helpCache = new Map<string, string>();
    for (const { line, words, flags } of invocations) {
      if (words[0] === '--version' || (words.length === 0 && flags.includes('--version'))) continue;
      // the command path: `dataset check` has a subcommand, the rest take the experiment or a folder next
      const commandPath = words[0] === 'dataset' || words[0] === 'export' ? words.slice(0, 2) : words.slice(0, 1);
      const key = commandPath.join(' ');
      if (!helpCache.has(key)) {
        const help = await harness([...commandPath, '--help']);
        expect(help.exitCode, `harness ${key} --help (from: ${line})`).toBe(0);
        expect(help.stdout, `harness ${key} exists (from: ${line})`).toContain(`Usage: harness ${key}`);
        helpCache.set(key, help.stdout);
      }
      for (const flag of flags) expect(helpCache.get(key), `${flag} in: ${line}`).toContain(flag);
    }
  });
});
