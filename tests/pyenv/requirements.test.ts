// The requirement files as a user meets them: `pip install -r python/requirements-cuda.txt` (or -p100) on a
// GPU machine must resolve, and must install the versions CI tested on the CPU. Two checks:
// (a) the GPU files share every pin of requirements-cpu.txt except torch and torchvision, and add only
//     torch, torchvision and bitsandbytes; requirements-p100.txt is requirements-cuda.txt;
// (b) no pin breaks a Requires-Dist constraint of the tested stack (the packages installed in the harness's
//     CPU environment) or of diffusers 0.40.0 (the wheel in the mirror of upstream files), read with the
//     packages' own metadata and packaging's SpecifierSet in that environment's Python.
import { execa } from 'execa';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mirrorFolders } from '../../harness/train/script.ts';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { realStack } from '../real/stack.ts';

const PYTHON_DIR = path.join(REPO, 'python');
const CPU = path.join(PYTHON_DIR, 'requirements-cpu.txt');
const CUDA = path.join(PYTHON_DIR, 'requirements-cuda.txt');
const P100 = path.join(PYTHON_DIR, 'requirements-p100.txt');
const CHECKER = path.join(REPO, 'tests', 'pyenv', 'pin_constraints.py');
const DIFFUSERS_WHEEL = 'diffusers-0.40.0-py3-none-any.whl';
/** The packages whose GPU builds differ from the CPU file's (and the GPU-only 8-bit optimizer). */
const GPU_ONLY = ['torch', 'torchvision', 'bitsandbytes'];

/** PEP 503: names compare lowercase with runs of - _ . as one -. */
const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

/** name → version of every `name==version` line, following `-r other.txt`; anything else but options and comments is refused. */
async function readPins(file: string): Promise<Map<string, string>> {
  const pins = new Map<string, string>();
  const text = await readFile(file, 'utf8');
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const include = /^(?:-r|--requirement)\s*(\S+)$/.exec(line);
    if (include) {
      for (const [name, version] of await readPins(path.resolve(path.dirname(file), include[1]!))) pins.set(name, version);
      continue;
    }
    if (line.startsWith('-')) continue; // --extra-index-url and the like
    const pin = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$/.exec(line);
    if (!pin) throw new Error(`${path.basename(file)}:${index + 1}: "${line}" is not an exact pin (name==version)`);
    const name = normalize(pin[1]!);
    if (pins.has(name)) throw new Error(`${path.basename(file)}:${index + 1}: ${name} is pinned twice`);
    pins.set(name, pin[2]!);
  }
  return pins;
}

interface Constraint {
  source: string;
  version: string;
  name: string;
  requirement: string;
  specifier: string;
  pinned: string;
  ok: boolean;
}

interface ConstraintReport {
  sources: { name: string; version: string; from: string }[];
  skipped: { name: string; installed: string; pinned: string }[];
  constraints: Constraint[];
  /** one sentence per broken constraint, naming the file's pin and the package that refuses it */
  conflicts: string[];
}

let python: string;
let diffusersWheel: string;

beforeAll(async () => {
  python = (await realStack()).python;
  const mirrors = await mirrorFolders(process.env);
  for (const dir of mirrors) if ((await readdir(dir)).includes(DIFFUSERS_WHEEL)) diffusersWheel ??= path.join(dir, DIFFUSERS_WHEEL);
  if (!diffusersWheel) throw new Error(`${DIFFUSERS_WHEEL} is in no mirror folder (${mirrors.join(', ') || 'none'}): set HARNESS_MIRROR to the folder holding it`);
}, 600_000);

/** Every Requires-Dist constraint of the tested stack and of diffusers 0.40.0 that names a pin of `file`. */
async function pinConflicts(file: string): Promise<ConstraintReport> {
  const pins = await readPins(file);
  const result = await execa(python, [CHECKER], { input: JSON.stringify({ pins: Object.fromEntries(pins), wheels: [diffusersWheel] }), reject: false });
  if (result.exitCode !== 0) throw new Error(`${CHECKER} failed:\n${result.stderr}`);
  const report = JSON.parse(result.stdout) as Omit<ConstraintReport, 'conflicts'>;
  const conflicts = report.constraints
    .filter((c) => !c.ok)
    .map((c) => `${path.basename(file)} pins ${c.name}==${c.pinned}, but ${c.source} ${c.version} requires "${c.requirement}"`);
  return { ...report, conflicts };
}

describe('the shared pins', () => {
  it('requirements-cuda.txt pins every package of requirements-cpu.txt but torch/torchvision to the same version, and adds only the GPU builds', async () => {
    const cpu = await readPins(CPU);
    const cuda = await readPins(CUDA);
    expect([...cpu.keys()]).toEqual(expect.arrayContaining(['torch', 'torchvision', 'diffusers', 'huggingface-hub', 'transformers']));
    const shared = [...cpu].filter(([name]) => !GPU_ONLY.includes(name));
    expect(shared.map(([name, version]) => `${name}==${cuda.get(name) ?? '(not pinned)'}`)).toEqual(shared.map(([name, version]) => `${name}==${version}`));
    expect([...cuda.keys()].filter((name) => !cpu.has(name) || GPU_ONLY.includes(name)).sort()).toEqual([...GPU_ONLY].sort());
  });

  it('requirements-p100.txt installs exactly requirements-cuda.txt', async () => {
    expect([...(await readPins(P100))].sort()).toEqual([...(await readPins(CUDA))].sort());
  });

  it('the CPU environment the suite runs on is the stack requirements-cpu.txt pins', async () => {
    const report = await pinConflicts(CPU);
    expect(report.skipped).toEqual([]);
    const installed = new Map(report.sources.filter((s) => s.from === 'installed').map((s) => [s.name, s.version]));
    for (const [name, version] of await readPins(CPU)) {
      if (name === 'diffusers') continue; // read from the wheel
      expect([name, installed.get(name)?.replace(/\+cpu$/, '')]).toEqual([name, version]);
    }
  }, 120_000);
});

describe('every requirement file is installable as far as the packages\' metadata says', () => {
  for (const file of [CPU, CUDA, P100]) {
    it(`${path.basename(file)}: no pin breaks a constraint of the tested stack or of diffusers 0.40.0`, async () => {
      const report = await pinConflicts(file);
      expect(report.conflicts).toEqual([]);
      // the constraints that matter were read: diffusers' and datasets' hub bounds, accelerate's on torch
      const seen = report.constraints.map((c) => `${c.source} → ${c.name}`);
      expect(seen).toEqual(expect.arrayContaining(['diffusers → huggingface-hub', 'datasets → huggingface-hub', 'transformers → huggingface-hub', 'accelerate → torch']));
      expect(report.sources.find((s) => s.name === 'diffusers')).toMatchObject({ version: '0.40.0', from: diffusersWheel });
      // only the GPU builds are checked without their own metadata (it describes the CPU builds here)
      expect(report.skipped.map((s) => s.name).sort()).toEqual(file === CPU ? [] : ['torch', 'torchvision']);
    }, 120_000);
  }

  it('names the conflicting constraint: huggingface-hub 2.4.0 beside diffusers 0.40.0 (the pin this file once had)', async () => {
    const dir = await tempDir('harness-requirements-');
    const broken = path.join(dir, 'requirements-cuda.txt');
    const text = await readFile(CUDA, 'utf8');
    expect(text).toMatch(/^huggingface-hub==1\.33\.0$/m);
    await writeFile(broken, text.replace(/^huggingface-hub==.*$/m, 'huggingface-hub==2.4.0'));
    const report = await pinConflicts(broken);
    expect(report.conflicts).toEqual(
      expect.arrayContaining([
        'requirements-cuda.txt pins huggingface-hub==2.4.0, but diffusers 0.40.0 requires "huggingface-hub<2.0,>=1.23.0"',
        'requirements-cuda.txt pins huggingface-hub==2.4.0, but datasets 5.0.1 requires "huggingface-hub<2.0,>=0.25.0"',
      ]),
    );
    // transformers 5.18 accepts hub 2.x: only the constraints that refuse it are named
    expect(report.conflicts.join('\n')).not.toContain('transformers');
  }, 120_000);
});
