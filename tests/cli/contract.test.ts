// The contract every command keeps (issue 20): one exit-code table, true for every command and its failure
// classes; no user input ever gives 70; --json failures print {schemaVersion, error} on stdout; one flag,
// one meaning; the README's exit-code table and flags section are what the commands say.
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../harness/cli.ts';
import { SHARED_FLAGS } from '../../harness/cli/common.ts';
import { COMMAND_EXIT_CODES, exitCodesHelp, FLAG_MEANINGS, leafCommands, sharedFlags } from '../../harness/cli/contract.ts';
import { defaultIo } from '../../harness/cli/io.ts';
import { withGeneratedSections } from '../../harness/cli/write-readme.ts';
import { EXIT_CODES } from '../../harness/errors.ts';
import { sha256 } from '../../harness/util/hash.ts';
import { harness, REPO } from '../helpers/cli.ts';
import { MINIMAL, UNPINNED_MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeDataset } from '../training/helpers.ts';

const program = buildProgram({ io: defaultIo(), setExitCode: () => {} });
const commands = leafCommands(program).map((c) => c.path);
const JPEG = path.join(REPO, 'tests/fixtures/faces/camera.jpg');
const CLOSED = 'http://127.0.0.1:9'; // nothing listens on the discard port: "cannot be reached" at once

interface Case {
  command: string;
  why: string;
  args: (w: Workspace) => string[];
  env?: (w: Workspace) => Record<string, string | undefined>;
  code: number;
  says?: string | RegExp;
  /** also true of the run store afterwards */
  after?: (w: Workspace) => Promise<void>;
}

interface Workspace {
  root: string;
  env: Record<string, string | undefined>;
}

const FAKE_SCRIPT = '# a file that is not the pinned diffusers script\n';
const OWN_PIN = (file: string) => MINIMAL.replace(/sha256: [0-9a-f]{64}/, `sha256: ${sha256(Buffer.from(FAKE_SCRIPT))}`).replace('name: mini', `name: ${file}`);

async function workspace(): Promise<Workspace> {
  const root = await tempDir('harness-contract-');
  await makeDataset(path.join(root, 'data'), 3, 64); // 64 px images: problems for an experiment expecting 1024
  await writeFile(path.join(root, 'mini.yaml'), MINIMAL);
  await writeFile(path.join(root, 'own.yaml'), OWN_PIN('own'));
  await writeFile(path.join(root, 'unpinned.yaml'), UNPINNED_MINIMAL);
  await writeFile(path.join(root, 'fake.py'), FAKE_SCRIPT);
  await writeFile(path.join(root, 'a-file'), 'not a folder\n');
  for (const dir of ['model', 'vae', 'runs', 'photos', 'hub', 'cache', 'refs', 'bin']) await mkdir(path.join(root, dir), { recursive: true });
  await writeFile(path.join(root, 'photos', 'broken.jpg'), 'not a jpeg');
  // a stand-in sbatch that refuses every job, as a cluster over its limits does
  await writeFile(path.join(root, 'bin', 'sbatch'), '#!/bin/sh\necho "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2\nexit 1\n');
  await chmod(path.join(root, 'bin', 'sbatch'), 0o755);
  return {
    root,
    env: {
      XDG_CACHE_HOME: path.join(root, 'cache'),
      HF_HUB_CACHE: path.join(root, 'hub'),
      HF_HOME: path.join(root, 'hf-home'),
      HF_ENDPOINT: CLOSED,
      HARNESS_HUB_RETRIES: '0',
      HARNESS_SCRIPT_BASE_URL: CLOSED,
      HARNESS_MIRROR: '', // no local mirror of upstream files either: the download is the only source
      HARNESS_PYTHON: 'python3',
      WANDB_MODE: 'disabled',
      WANDB_API_KEY: undefined,
      HF_TOKEN: undefined,
      HOME: root,
    },
  };
}

const CASES: Case[] = [
  { command: 'plan', why: 'a good experiment', args: () => ['plan', 'mini.yaml'], code: 0 },
  { command: 'plan', why: 'a missing file', args: () => ['plan', 'nope.yaml'], code: 2, says: 'experiment file not found: nope.yaml' },
  { command: 'plan', why: 'a photo passed as the experiment', args: () => ['plan', JPEG], code: 2, says: 'it looks like a JPEG image, not YAML text' },
  { command: 'plan', why: 'a folder passed as the experiment', args: () => ['plan', 'data'], code: 2, says: 'data is a folder, not an experiment file' },
  { command: 'plan', why: 'a missing --script', args: () => ['plan', 'mini.yaml', '--script', 'nope.py'], code: 2, says: '--script nope.py: no such file' },

  { command: 'setup', why: 'a bad experiment', args: () => ['setup', 'nope.yaml'], code: 2 },
  { command: 'setup', why: '--script that is not the pinned script', args: () => ['setup', 'mini.yaml', '--script', 'fake.py', '--no-snapshot'], code: 2, says: 'not the pinned' },
  { command: 'setup', why: 'the script download fails', args: () => ['setup', 'mini.yaml', '--no-snapshot'], code: 3, says: 'cannot download' },
  {
    command: 'setup',
    why: 'something is missing (no Python, no snapshots)',
    args: () => ['setup', 'own.yaml', '--script', 'fake.py', '--no-snapshot', '--python', '/nonexistent/python'],
    code: 1,
    says: /"ok": false/,
  },

  {
    command: 'sweep',
    why: 'no GPU and a dataset with problems: refused once, up front, with the whole reason',
    args: () => ['sweep', 'mini.yaml', '--script', 'fake.py', '--model', 'model', '--vae', 'vae'],
    code: 2,
    says: /refused before any run started \(2 runs to train; nothing was written\):\n(.|\n)*is 64×64, expected 1024×1024(.|\n)*torch is not installed in .*: SDXL training needs an NVIDIA GPU/,
    after: async (w) => {
      expect(await readdir(path.join(w.root, 'runs'))).toEqual([]); // no run folder, lock or W&B record
    },
  },
  { command: 'sweep', why: 'unpinned models', args: () => ['sweep', 'unpinned.yaml', '--script', 'fake.py'], code: 2, says: 'not pinned to commits' },
  { command: 'sweep', why: 'a store that is a file', args: () => ['sweep', 'mini.yaml', '--store', 'a-file', '--script', 'fake.py'], code: 2, says: 'is a file, not a folder' },

  { command: 'run', why: 'unpinned models without --unpinned', args: () => ['run', 'unpinned.yaml', '--variant', 'baseline', '--script', 'fake.py'], code: 2, says: 'or --unpinned to train anyway' },
  { command: 'run', why: 'two variants for one run', args: () => ['run', 'mini.yaml', '--variant', 'baseline,lr-low'], code: 2, says: 'this command takes one run, got 2' },
  {
    command: 'run',
    why: 'no GPU: refused before the run folder exists',
    args: () => ['run', 'mini.yaml', '--variant', 'baseline', '--script', 'fake.py', '--model', 'model', '--vae', 'vae'],
    code: 2,
    says: /refused before any run started \(run baseline-[0-9a-f]{8} to train/,
    after: async (w) => {
      expect(await readdir(path.join(w.root, 'runs'))).toEqual([]);
    },
  },
  { command: 'run', why: '--set with a value that is not a number', args: () => ['run', 'mini.yaml', '--variant', 'baseline', '--set', 'learning_rate=abc'], code: 2, says: '--set learning_rate=abc: expected a number, got "abc"' },

  { command: 'status', why: 'the default store', args: () => ['status', 'mini.yaml'], code: 0 },
  { command: 'status', why: 'a store that is a file', args: () => ['status', 'mini.yaml', '--store', 'a-file'], code: 2, says: 'is a file, not a folder' },
  { command: 'status', why: 'a store inside a file', args: () => ['status', 'mini.yaml', '--store', 'a-file/runs'], code: 2, says: 'is not a folder' },
  { command: 'status', why: 'a mistyped store', args: () => ['status', 'mini.yaml', '--store', 'runz'], code: 2, says: 'does not exist' },

  { command: 'report', why: 'a mistyped store', args: () => ['report', 'mini.yaml', '--store', 'runz'], code: 2, says: 'does not exist' },
  { command: 'report', why: 'a bad experiment', args: () => ['report', JPEG], code: 2 },

  { command: 'check', why: 'nothing sampled yet', args: () => ['check', 'mini.yaml'], code: 2 },
  { command: 'check', why: 'a tier that does not exist', args: () => ['check', 'mini.yaml', '--tier', 'loose'], code: 2, says: '--tier must be one of' },

  { command: 'dataset check', why: 'problems found', args: () => ['dataset', 'check', '--experiment', 'mini.yaml'], code: 1, says: 'expected 1024×1024' },
  { command: 'dataset check', why: 'no such folder', args: () => ['dataset', 'check', 'nope'], code: 2, says: 'dataset folder not found' },
  { command: 'dataset check', why: 'clean at its own size', args: () => ['dataset', 'check', 'data', '--size', '64', '--min-images', '2'], code: 0 },

  { command: 'dataset prepare', why: 'a photo that does not decode', args: (w) => ['dataset', 'prepare', 'photos', path.join(w.root, 'prepared')], code: 1 },
  { command: 'dataset prepare', why: 'a destination inside the source', args: () => ['dataset', 'prepare', 'photos', 'photos/out'], code: 2, says: 'inside the source folder' },

  { command: 'caption', why: 'no Python', args: () => ['caption', 'data', '--force', '--python', '/nonexistent/python'], code: 2, says: 'Python not found' },
  { command: 'caption', why: 'no such folder', args: () => ['caption', 'nope'], code: 2, says: 'dataset folder not found' },

  { command: 'sample', why: 'nothing trained', args: () => ['sample', 'mini.yaml', '--variant', 'baseline', '--model', 'model', '--vae', 'vae'], code: 2, says: 'has not finished training' },
  { command: 'sample', why: 'a bad --checkpoint', args: () => ['sample', 'mini.yaml', '--checkpoint', 'latest'], code: 2, says: 'expected a step number' },

  { command: 'score', why: 'not a folder', args: () => ['score', 'a-file', '--reference', 'data'], code: 2, says: 'is not a folder' },
  { command: 'score', why: 'references without images', args: () => ['score', 'data', '--reference', 'refs'], code: 2, says: 'has no PNG, JPEG or WebP images' },

  { command: 'sync', why: 'tracking off', args: () => ['sync', 'mini.yaml'], code: 2, says: 'W&B tracking is off' },

  { command: 'pin', why: 'the Hub cannot be reached', args: () => ['pin', 'unpinned.yaml', '--dry-run'], code: 3, says: 'cannot reach the Hub' },
  { command: 'pin', why: 'a bad experiment', args: () => ['pin', JPEG], code: 2 },

  { command: 'push', why: 'the old --store switch', args: () => ['push', 'mini.yaml', '--store', '--repo', 'me/runs'], code: 2, says: 'use --share-runs' },
  { command: 'push', why: 'not a repo id', args: () => ['push', 'mini.yaml', '--variant', 'baseline', '--repo', 'not a repo'], code: 2, says: 'not a Hub repo id' },
  { command: 'push', why: 'nothing trained', args: () => ['push', 'mini.yaml', '--variant', 'baseline', '--repo', 'me/lora'], code: 2 },

  { command: 'pull', why: 'not a repo id', args: () => ['pull', 'mini.yaml', '--from', 'nope'], code: 2, says: 'not a Hub repo id' },
  { command: 'pull', why: 'the Hub cannot be reached', args: () => ['pull', 'mini.yaml', '--from', 'me/runs'], code: 3 },

  { command: 'export wandb-sweep', why: 'a flag that does not apply', args: () => ['export', 'wandb-sweep', 'mini.yaml', '--run-cap', '3'], code: 2, says: '--run-cap applies to random and bayes sweeps' },
  { command: 'export wandb-sweep', why: 'written', args: (w) => ['export', 'wandb-sweep', 'mini.yaml', '--out', path.join(w.root, 'sweep.yaml')], code: 0 },

  {
    command: 'export slurm',
    why: 'sbatch refuses the job',
    args: (w) => ['export', 'slurm', 'mini.yaml', '--out', path.join(w.root, 'job.sbatch'), '--submit'],
    env: (w) => ({ PATH: `${path.join(w.root, 'bin')}:${process.env.PATH}` }),
    code: 3,
    says: 'sbatch refused the job',
  },
  { command: 'export slurm', why: 'no sbatch on PATH', args: (w) => ['export', 'slurm', 'mini.yaml', '--out', path.join(w.root, 'job2.sbatch'), '--submit'], env: () => ({ PATH: '/nonexistent' }), code: 2 },

  { command: 'doctor', why: 'no Python', args: () => ['doctor', '--python', '/nonexistent/python'], code: 1, says: /cannot run \/nonexistent\/python/ },
  { command: 'doctor', why: 'a bad experiment', args: () => ['doctor', 'nope.yaml'], code: 2 },
];

describe('the exit-code contract', () => {
  it('declares the exit codes of every command, and each command prints them in --help', async () => {
    expect(Object.keys(COMMAND_EXIT_CODES).sort()).toEqual([...commands].sort());
    for (const command of commands) {
      const help = await harness([...command.split(' '), '--help']);
      expect(help.stdout, command).toContain(exitCodesHelp(command));
    }
    const top = await harness(['--help']);
    for (const { code, meaning } of EXIT_CODES) expect(top.stdout).toContain(`${String(code).padEnd(3)} ${meaning}`);
  }, 180_000);

  it('keeps the declared code for every command and its failure classes; never 70; --json failures on stdout', async () => {
    const w = await workspace();
    expect(new Set(CASES.map((c) => c.command))).toEqual(new Set(commands));
    const failures: string[] = [];
    for (const c of CASES) {
      const args = c.args(w);
      const env = { ...w.env, ...c.env?.(w) };
      const result = await harness([...args, '--json'], { cwd: w.root, env, timeout: 120_000 });
      const label = `harness ${args.join(' ')} (${c.why})`;
      if (result.exitCode !== c.code) failures.push(`${label}: exit ${result.exitCode}, expected ${c.code}\n${result.stderr}`);
      expect(result.stderr, label).not.toContain('internal error');
      // --no-preflight is a test switch, never the fix offered for a missing GPU
      expect(result.stderr, label).not.toMatch(/pass --no-preflight|or --no-preflight/);
      expect(result.exitCode, label).not.toBe(70);
      const declared = COMMAND_EXIT_CODES[c.command]!;
      expect(Object.keys(declared).map(Number), `${label}: ${result.exitCode} is not in ${c.command}'s table`).toContain(result.exitCode);
      // what a person reads (stderr) or, for a check that ran, its JSON result (stdout)
      if (c.says) expect(result.exitCode === 1 ? result.stdout : result.stderr, label).toMatch(c.says);
      if (result.exitCode === 1) {
        // a check or a run that ran and found something: its own result, as JSON
        expect(JSON.parse(result.stdout).schemaVersion, label).toBe(1);
      } else if (result.exitCode !== 0) {
        // --json on failure: the error as JSON on stdout (and the same words on stderr for people)
        const json = JSON.parse(result.stdout);
        expect(json, label).toMatchObject({ schemaVersion: 1, error: { exitCode: result.exitCode } });
        expect(typeof json.error.message, label).toBe('string');
        expect(result.stderr, label).toContain(json.error.message.split('\n')[0]);
        expect('hint' in json.error, label).toBe(true);
      }
      await c.after?.(w);
    }
    expect(failures).toEqual([]);
    // every code a command declares (other than 0) is exercised by some case, so the table cannot drift
    for (const command of commands) {
      const seen = new Set(CASES.filter((c) => c.command === command).map((c) => c.code));
      const untested = Object.keys(COMMAND_EXIT_CODES[command]!).map(Number).filter((code) => code !== 0 && !seen.has(code));
      expect(untested.filter((code) => !EXERCISED_ELSEWHERE[`${command} ${code}`]), `${command}: declared codes without a case`).toEqual([]);
    }
  }, 600_000);

  it('gives usage errors (unknown flags, other command names) as JSON too, and points `train` to `run`', async () => {
    const unknown = await harness(['plan', 'experiments/tok-boy.yaml', '--jsn', '--json']);
    expect(unknown.exitCode).toBe(2);
    expect(JSON.parse(unknown.stdout).error.message).toContain("unknown option '--jsn'");
    const train = await harness(['train', 'experiments/tok-boy.yaml', '--json']);
    expect(train.exitCode).toBe(2);
    expect(train.stderr).toContain("unknown command 'train' (did you mean `harness run`?)");
    expect(JSON.parse(train.stdout).error.exitCode).toBe(2);
  });
});

/** Codes whose cases need a trainer, a sampler, the face models or a Hub stand-in: the tests named here cover them. */
const EXERCISED_ELSEWHERE: Record<string, string> = {
  'sweep 1': 'tests/sweep/recovery.test.ts (a failed run is recorded, exit 1)',
  'run 1': 'tests/training/failures.test.ts (oom, nan_loss, crashed: exit 1)',
  'check 1': 'tests/regression/check.test.ts (a regression: exit 1)',
  'caption 1': 'tests/dataset/caption.test.ts (the captioner fails: exit 1)',
  'sample 1': 'tests/samples/cli.test.ts (the sampler fails: exit 1)',
  'sync 3': 'tests/tracking/sync-cli.test.ts (W&B unreachable: exit 3)',
  'push 3': 'tests/hub/push.test.ts (the Hub refuses: exit 3)',
  'pull 1': 'tests/hub/store.test.ts (conflicts: exit 1)',
  'sweep 4': 'tests/real/check-inconclusive.test.ts (sweep --check over faceless samples: exit 4)',
  'check 4': 'tests/real/check-inconclusive.test.ts (a check that compared nothing: exit 4)',
  'score 4': 'tests/real/check-inconclusive.test.ts and tests/real/sweep.test.ts (nothing measured: exit 4)',
};

describe('one flag, one meaning', () => {
  it('gives a flag the same form and meaning in every command that has it', () => {
    const shared = sharedFlags(program);
    expect(shared.map((f) => f.long)).toEqual(expect.arrayContaining(['--store', '--variant', '--run', '--out', '--json', '--unpinned', '--script', '--report-dir']));
    for (const flag of shared) {
      // a flag that a second command gains must get its one meaning stated (FLAG_MEANINGS)
      expect(FLAG_MEANINGS[flag.long], `${flag.long} (${flag.commands.join(', ')}) has no stated meaning`).toBeDefined();
      for (const { path: command, command: cmd } of leafCommands(program)) {
        const option = cmd.options.find((o) => o.long === flag.long && !o.hidden);
        if (!option) continue;
        expect(option.flags, `${flag.long} in ${command}`).toBe(flag.flags);
      }
    }
    // the flags made by the shared helpers keep their words everywhere (a command may add to them)
    const helperFlags: [string, string][] = [['--store', SHARED_FLAGS.store], ['--variant', SHARED_FLAGS.variant], ['--run', SHARED_FLAGS.run], ['--report-dir', SHARED_FLAGS.reportDir], ['--unpinned', SHARED_FLAGS.unpinned], ['--json', SHARED_FLAGS.json], ['--python', SHARED_FLAGS.python], ['--model', SHARED_FLAGS.model]];
    for (const [long, words] of helperFlags) {
      for (const { path: command, command: cmd } of leafCommands(program)) {
        const option = cmd.options.find((o) => o.long === long && !o.hidden);
        if (option) expect(option.description, `${long} in ${command}`).toContain(words);
      }
    }
    // --store is the store root everywhere, push included; --out is a file everywhere
    for (const { path: command, command: cmd } of leafCommands(program)) {
      const store = cmd.options.find((o) => o.long === '--store');
      if (store) expect(store.flags, command).toBe('--store <dir>');
      const out = cmd.options.find((o) => o.long === '--out' && !o.hidden);
      if (out) expect(out.flags, command).toBe('--out <file>');
    }
    // run (what SLURM tasks and W&B agents call) refuses unpinned models unless told, as sweep does
    expect(shared.find((f) => f.long === '--unpinned')!.commands).toEqual(expect.arrayContaining(['run', 'sweep']));
  });
});

describe('the README', () => {
  it('has the exit-code table and the flags section the commands generate (npm run readme)', async () => {
    const text = await readFile(path.join(REPO, 'README.md'), 'utf8');
    expect(text).toBe(withGeneratedSections(text));
    expect(text).toContain('| `check` | pass | a regression |');
    expect(text).toContain('| `--store <dir>` |');
  });
});
