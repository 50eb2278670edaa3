// The contract every command keeps: which exit codes it gives and what each means for it. `--help`, the
// README's exit-code table and the contract test (tests/cli/contract.test.ts) all read this one table.
import type { Command } from 'commander';
import { EXIT_CODES, ExitCode } from '../errors.ts';
import { SHARED_FLAGS } from './common.ts';

type CommandCodes = Partial<Record<0 | 1 | 2 | 3 | 4, string>>;

/** Per command (as typed after `harness`): what 0–4 mean for it. 70 and 130 mean the same everywhere. */
export const COMMAND_EXIT_CODES: Record<string, CommandCodes> = {
  plan: { 0: 'planned', 2: 'bad experiment file, flag, --dataset or --script' },
  setup: { 0: 'ready to train', 1: 'something is missing (listed with its fix)', 2: 'bad experiment file or --script', 3: 'a download failed (the script or a model snapshot)' },
  sweep: {
    0: 'every selected run is done',
    1: 'a run failed, or --check found a regression',
    2: 'refused before any run started: config, dataset, environment (Python packages, GPU), unpinned models, store',
    4: '--check compared nothing (inconclusive: see `harness check --help`)',
  },
  run: { 0: 'trained (or already trained)', 1: 'the run failed (status.json says why: oom, nan_loss, crashed, …)', 2: 'refused before training: config, dataset, environment, unpinned models, a run locked by another process' },
  status: { 0: 'listed', 2: 'bad experiment file, or a --store that does not exist' },
  report: { 0: 'written', 2: 'bad experiment file, or a --store that does not exist' },
  check: {
    0: 'pass',
    1: 'a regression',
    2: 'nothing to compare: no goldens, a golden changed or unreadable since --accept, nothing sampled yet, samples: settings differ, scores missing with --no-score',
    4: 'inconclusive: nothing was compared (no marker values on both sides at the statistical tier, or no images)',
  },
  'dataset check': { 0: 'no problems (warnings allowed)', 1: 'problems found', 2: 'no such folder, bad flag or experiment' },
  'dataset prepare': { 0: 'every photo written', 1: 'some photos could not be read', 2: 'bad source or destination folder' },
  caption: { 0: 'captions written (or up to date)', 1: 'the captioner failed', 2: 'bad folder, a hand-edit conflict, missing Python or packages' },
  sample: { 0: 'every set rendered (or already complete)', 1: 'the sampler failed', 2: 'bad flag, nothing trained, no model snapshot, a run busy elsewhere' },
  score: { 0: 'scored', 2: 'bad folder, or no usable face in the references', 4: 'inconclusive: no image had a usable value for any marker' },
  sync: { 0: 'everything sent', 2: 'no W&B key, tracking off, no such run or store', 3: 'W&B refused or could not be reached (pending data stays; sync again)' },
  pin: { 0: 'pinned (or already pinned)', 2: 'bad experiment file', 3: 'the Hub refused or could not be reached' },
  push: { 0: 'pushed (or up to date)', 2: 'bad flag or repo id, nothing trained to push', 3: 'the Hub refused or could not be reached' },
  pull: { 0: 'pulled', 1: 'some runs conflict with the local store (left untouched)', 2: 'bad flag or repo id', 3: 'the Hub refused or could not be reached' },
  'export wandb-sweep': { 0: 'written', 2: 'bad experiment file or flag' },
  'export slurm': { 0: 'written (and submitted with --submit)', 2: 'bad experiment file or flag', 3: 'sbatch refused the job' },
  doctor: { 0: 'ready to train', 1: 'something is missing or wrong (each with its fix)', 2: 'bad experiment file' },
};

/** The "Exit codes:" block of one command's --help. */
export function exitCodesHelp(command: string): string {
  const codes = COMMAND_EXIT_CODES[command];
  if (!codes) throw new Error(`no exit codes declared for "${command}"`);
  const lines = Object.entries(codes).map(([code, meaning]) => `  ${code.padEnd(3)} ${meaning}`);
  lines.push(`  ${String(ExitCode.interrupted).padEnd(3)} interrupted (Ctrl-C); the same command again resumes`);
  return `Exit codes:\n${lines.join('\n')}\n  (70: a bug in harness; \`harness --help\` has the whole table)`;
}

/** The top-level table (`harness --help`). */
export function exitCodesSummary(): string {
  return `Exit codes:\n${EXIT_CODES.map((c) => `  ${String(c.code).padEnd(3)} ${c.meaning}`).join('\n')}`;
}

/** The README's exit-code section, generated (tests/cli/contract.test.ts keeps the README equal to it). */
export function exitCodesMarkdown(): string {
  const commands = Object.keys(COMMAND_EXIT_CODES);
  const cell = (command: string, code: number) => (COMMAND_EXIT_CODES[command]![code as 0] ?? '');
  const lines = [
    '| code | meaning |',
    '| --- | --- |',
    ...EXIT_CODES.map((c) => `| ${c.code} | ${c.meaning} |`),
    '',
    'What 0–4 mean for each command (every command also exits 130 when interrupted and 70 on a bug):',
    '',
    '| command | 0 | 1 | 2 | 3 | 4 |',
    '| --- | --- | --- | --- | --- | --- |',
    ...commands.map((command) => `| \`${command}\` | ${[0, 1, 2, 3, 4].map((code) => cell(command, code) || '–').join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** Every command a user can run, as typed after `harness` ("dataset check"), with its commander object. */
export function leafCommands(program: Command): { path: string; command: Command }[] {
  const out: { path: string; command: Command }[] = [];
  const walk = (command: Command, prefix: string[]) => {
    for (const sub of command.commands) {
      const path = [...prefix, sub.name()];
      if (sub.commands.length > 0) walk(sub, path);
      else out.push({ path: path.join(' '), command: sub });
    }
  };
  walk(program, []);
  return out;
}

/**
 * The one meaning of every flag that several commands have. The shared helpers' texts (SHARED_FLAGS) are
 * used as they are; the others are stated here. A flag that a second command gains must get a line here
 * (the contract test fails otherwise), so a flag never quietly means two things.
 */
export const FLAG_MEANINGS: Record<string, string> = {
  '--store': SHARED_FLAGS.store,
  '--json': SHARED_FLAGS.json,
  '--dataset': SHARED_FLAGS.dataset,
  '--variant': SHARED_FLAGS.variant,
  '--run': SHARED_FLAGS.run,
  '--report-dir': SHARED_FLAGS.reportDir,
  '--python': SHARED_FLAGS.python,
  '--script': SHARED_FLAGS.script,
  '--model': SHARED_FLAGS.model,
  '--vae': SHARED_FLAGS.vae,
  '--unpinned': SHARED_FLAGS.unpinned,
  '--out': `${SHARED_FLAGS.out} (always a file; report folders are --report-dir)`,
  '--experiment': 'take the dataset folder and its settings from this experiment YAML',
  '--dry-run': 'show what would change; change nothing',
  '--force': 'replace what is already there (outputs, or captions that were edited by hand)',
  '--with-checkpoints': 'include output/checkpoint-*/ (large)',
  '--prefix': 'the caption prefix every prompt starts with (default: dataset.caption_prefix)',
  '--size': 'image width and height in pixels',
  '--device': 'where a model runs (cuda or cpu)',
  '--batch-size': 'images per sampler batch',
  '--launcher': 'python: one process; accelerate: `accelerate launch`',
  '--num-processes': 'processes for --launcher accelerate',
  '--final-reload': "let the script do its full-pipeline reload after saving (skipped by default)",
  '--no-preflight': 'skip the Python/GPU checks: only for stand-in trainers in tests, never a fix for a missing GPU',
};

/** Long flags that several commands share, each with its one meaning and the commands that have it. */
export function sharedFlags(program: Command): { long: string; flags: string; meaning: string; commands: string[] }[] {
  const byName = new Map<string, { long: string; flags: string; meaning: string; commands: string[] }>();
  for (const { path, command } of leafCommands(program)) {
    for (const option of command.options) {
      if (option.hidden || !option.long || option.long === '--help') continue;
      const entry = byName.get(option.long) ?? { long: option.long, flags: option.flags, meaning: FLAG_MEANINGS[option.long] ?? option.description, commands: [] };
      entry.commands.push(path);
      byName.set(option.long, entry);
    }
  }
  return [...byName.values()].filter((e) => e.commands.length > 1).sort((a, b) => a.long.localeCompare(b.long));
}

/** The README's flags section, generated from the commands themselves. */
export function flagsMarkdown(program: Command): string {
  const rows = sharedFlags(program).map((f) => `| \`${f.flags}\` | ${f.meaning.replace(/\|/g, '\\|')} | ${f.commands.map((c) => `\`${c}\``).join(', ')} |`);
  return [
    'A flag means the same in every command that has it (values of `--variant` and `--run` may be repeated or comma-separated;',
    'commands that act on one run refuse more than one). `harness <command> --help` lists the rest.',
    '',
    '| flag | meaning | commands |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n');
}
