import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CELLS, EXPERIMENT, notebookJson } from '../../notebooks/source.ts';
import { parseExperiment } from '../../harness/config/load.ts';
import { isPinned } from '../../harness/hub/pin-state.ts';
import { EXIT_CODES } from '../../harness/errors.ts';
import { harness, REPO } from '../helpers/cli.ts';

const NOTEBOOK = path.join(REPO, 'notebooks', 'tok-boy.ipynb');

interface NotebookCell {
  cell_type: string;
  source: string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

const codeCells = () => CELLS.filter((c) => c.type === 'code');
const cell = (id: string) => CELLS.find((c) => c.id === id)!;

/** Every harness call in the code cells (the helpers harness() and harness_json()): command path and flags. */
function harnessInvocations(): { line: string; words: string[]; flags: string[] }[] {
  const out = [];
  for (const { source } of codeCells()) {
    for (const match of source.matchAll(/\bharness(_json)?\(f?(['"])(.*?)\2/g)) {
      const tokens = match[3]!.split(/\s+/).filter(Boolean);
      const flags = tokens.filter((t) => t.startsWith('--'));
      out.push({ line: match[0], words: tokens.filter((t) => !t.startsWith('-')), flags: match[1] ? [...flags, '--json'] : flags });
    }
  }
  return out;
}

/** Runs Python code with /usr/bin/python3 and returns its stdout. */
async function python(code: string): Promise<string> {
  const result = await execa('/usr/bin/python3', ['-c', code], { reject: false });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
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
    expect(invocations.length).toBeGreaterThanOrEqual(12);
    const used = new Set(invocations.map((i) => i.words[0]));
    for (const command of ['plan', 'status', 'dataset', 'caption', 'setup', 'sweep', 'report', 'check', 'push', 'doctor']) expect(used).toContain(command);
    // --gpus is added to both sweeps on a runtime with several GPUs
    expect(cell('runtime').source).toContain("GPU_FLAG = ' --gpus ' + ','.join(");
    invocations.push({ line: 'GPU_FLAG', words: ['sweep'], flags: ['--gpus'] });
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

  it('explains every exit code the CLI has when a command fails (the table of harness/errors.ts)', async () => {
    const runtime = cell('runtime').source;
    const table = runtime.slice(runtime.indexOf('EXIT_CODES = {'), runtime.indexOf('}', runtime.indexOf('EXIT_CODES = {')) + 1);
    const parsed = JSON.parse(await python(`import json\n${table}\nprint(json.dumps(EXIT_CODES))`)) as Record<string, string>;
    expect(parsed).toEqual(Object.fromEntries(EXIT_CODES.filter(({ code }) => code !== 0).map(({ code, meaning }) => [String(code), meaning])));
  });

  it('runs every shell command through sh(), which checks its exit status: no "!" or "%" lines, no npx', () => {
    for (const { id, source } of codeCells()) {
      expect(source.split('\n').filter((l) => /^\s*[!%]/.test(l)), id).toEqual([]);
      // npx is named only to say why it is not used (it can fetch an unrelated npm package called harness)
      for (const line of source.split('\n').filter((l) => /\bnpx\b/.test(l))) expect(line, id).toMatch(/#|"""/);
      // the only other child processes are probes whose result is checked where they are used
      for (const call of source.match(/subprocess\.(run|Popen|call|check_output)\(\[?'?[a-z]*/g) ?? []) {
        expect(["subprocess.Popen(['bash", "subprocess.run(['nvidia", "subprocess.run(['node"], `${id}: ${call}`).toContain(call);
      }
    }
    const runtime = cell('runtime').source;
    expect(runtime).toContain("raise SystemExit(f'{what} failed with exit code {code}");
    expect(runtime).toContain("'GIT_TERMINAL_PROMPT': '0'");
    // the checkout's own bin, by absolute path
    expect(runtime).toContain("sh(f'node {shlex.quote(CHECKOUT)}/bin/harness.js {args}'");
  });

  it('asks for everything interactive first (forms, Drive, secrets), then runs unattended', () => {
    const ids = codeCells().map((c) => c.id);
    expect(ids.slice(0, 3)).toEqual(['settings', 'runtime', 'storage']);
    const unattended = codeCells().slice(3);
    for (const { id, source } of unattended) {
      expect(source, id).not.toContain('#@param');
      expect(source, id).not.toMatch(/drive\.mount|userdata|kaggle_secrets|input\(/);
    }
    expect(cell('settings').source).toMatch(/^HUB_REPO = '' {2}#@param/m); // no placeholder repo: publishing is opt-in
  });

  it('detects Kaggle before Colab, and picks the secret store the same way', () => {
    const runtime = cell('runtime').source;
    const kaggle = runtime.indexOf("if os.environ.get('KAGGLE_KERNEL_RUN_TYPE')");
    expect(kaggle).toBeGreaterThan(-1);
    expect(kaggle).toBeLessThan(runtime.indexOf("elif os.environ.get('COLAB_RELEASE_TAG')"));
    expect(runtime).toContain("os.path.isdir(KAGGLE_ROOT + '/working')");
    const storage = cell('storage').source;
    expect(storage.indexOf("if PLATFORM == 'kaggle':")).toBeLessThan(storage.indexOf('from google.colab import userdata'));
  });

  it('installs the Python packages of python/requirements-cuda.txt on every card', async () => {
    expect(cell('runtime').source).toContain("os.environ.get('HARNESS_NOTEBOOK_REQUIREMENTS', 'python/requirements-cuda.txt')");
    for (const { id, source } of codeCells()) expect(source, id).not.toContain('requirements-p100');
    expect(await readFile(path.join(REPO, 'python', 'requirements-cuda.txt'), 'utf8')).toMatch(/^torch==[\d.]+\+cu126$/m);
  });

  it('leaves the model pins to the experiment file: tok-boy.yaml ships them, the notebook never pins', async () => {
    const { config } = parseExperiment(EXPERIMENT, await readFile(path.join(REPO, EXPERIMENT), 'utf8'));
    expect(isPinned(config)).toBe(true);
    expect([config.base.model.commit, config.base.vae.commit]).toEqual(['462165984030d82259a11f4367a4eed129e94a7b', '207b116dae70ace3637169f1ddd2434b91b3a8cd']);
    expect(harnessInvocations().map((i) => i.words[0])).not.toContain('pin');
  });

  it('needs Node >= 22.11 and compares versions as (major, minor), not by major alone', async () => {
    const source = cell('node').source;
    // the cell's own definitions, without running its install
    const out = await python(`
import ast, re, subprocess
tree = ast.parse(${JSON.stringify(source)})
keep = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'node_version'
        or isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'NODE_MIN']
exec(compile(ast.Module(body=keep, type_ignores=[]), 'node-cell', 'exec'))
for text in ['v20.19.5', 'v22.9.0', 'v22.10.1', 'v22.11.0', 'v22.21.1', 'v24.0.0', 'v100.1.0', 'garbage']:
    found = node_version(text)
    print(text, found is not None and found >= NODE_MIN)
`);
    expect(out.trim().split('\n')).toEqual([
      'v20.19.5 False', 'v22.9.0 False', 'v22.10.1 False', 'v22.11.0 True', 'v22.21.1 True', 'v24.0.0 True', 'v100.1.0 True', 'garbage False',
    ]);
    expect(source).toContain("install_node(line='latest-v24.x')");
    expect(source).toMatch(/hashlib\.sha256\(handle\.read\(\)\)\.hexdigest\(\) != digest/);
  });

  it('says what each step costs, the plan over sessions, and the platforms\' limits', () => {
    for (const { id, source } of CELLS.filter((c) => c.type === 'markdown' && /^## \d+\./.test(c.source))) {
      expect(source.split('\n')[0], id).toMatch(/\((about )?[\d–½]+ ?(s|min|h)\b|\(seconds/);
    }
    const text = CELLS.map((c) => c.source).join('\n');
    for (const fact of ['--only baseline', '--max-runs N', '--gpus 0,1', '15–20 h', 'Persistence', 'Internet', '20 GB', '15 GB', 'flushes', 'Node 24 LTS']) {
      expect(text).toContain(fact);
    }
  });
});

describe('the README on Colab and Kaggle', () => {
  it('says what the notebook does, without a placeholder badge', async () => {
    const readme = await readFile(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## On Colab or Kaggle'), readme.indexOf('## Beyond one machine'));
    expect(section.length).toBeGreaterThan(500);
    expect(section).not.toContain('YOUR-ACCOUNT');
    for (const fact of [
      'requirements-cuda.txt', 'HARNESS_GIT_URL', 'data/tok-boy', '--experiment', 'KAGGLE_KERNEL_RUN_TYPE', 'read-only',
      '--only baseline', '--max-runs', '--gpus 0,1', 'Persistence', 'Internet', '20 GB', 'check --accept', 'flush', 'checkpoint', 'Node', '22.11',
      'bin/harness.js', 'HF_TOKEN', 'GIT_TERMINAL_PROMPT',
    ]) {
      expect(section, fact).toContain(fact);
    }
  });
});
