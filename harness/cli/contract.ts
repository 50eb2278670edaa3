// The contract every command keeps: which exit codes it gives and what each means for it. `--help`, the
// README's exit-code table and the contract test (tests/cli/contract.test.ts) all read this one table.
import { EXIT_CODES, ExitCode } from '../errors.ts';

type CommandCodes = Partial<Record<0 | 1 | 2 | 3, string>>;

/** Per command (as typed after `harness`): what 0, 1, 2 and 3 mean for it. 70 and 130 mean the same everywhere. */
export const COMMAND_EXIT_CODES: Record<string, CommandCodes> = {
  plan: { 0: 'planned', 2: 'bad experiment file, flag, --dataset or --script' },
  setup: { 0: 'ready to train', 1: 'something is missing (listed with its fix)', 2: 'bad experiment file or --script', 3: 'a download failed (the script or a model snapshot)' },
  sweep: {
    0: 'every selected run is done',
    1: 'a run failed, or --check found a regression',
    2: 'refused before any run started: config, dataset, environment (Python packages, GPU), unpinned models, store',
  },
  run: { 0: 'trained (or already trained)', 1: 'the run failed (status.json says why: oom, nan_loss, crashed, …)', 2: 'refused before training: config, dataset, environment, unpinned models, a run locked by another process' },
  status: { 0: 'listed', 2: 'bad experiment file, or a --store that does not exist' },
  report: { 0: 'written', 2: 'bad experiment file, or a --store that does not exist' },
  check: { 0: 'pass', 1: 'a regression', 2: 'nothing to compare: no goldens, nothing sampled yet, samples: settings differ, scores missing with --no-score' },
  'dataset check': { 0: 'no problems (warnings allowed)', 1: 'problems found', 2: 'no such folder, bad flag or experiment' },
  'dataset prepare': { 0: 'every photo written', 1: 'some photos could not be read', 2: 'bad source or destination folder' },
  caption: { 0: 'captions written (or up to date)', 1: 'the captioner failed', 2: 'bad folder, a hand-edit conflict, missing Python or packages' },
  sample: { 0: 'every set rendered (or already complete)', 1: 'the sampler failed', 2: 'bad flag, nothing trained, no model snapshot, a run busy elsewhere' },
  score: { 0: 'scored', 2: 'bad folder, or no usable face in the references' },
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
    'What 0–3 mean for each command (every command also exits 130 when interrupted and 70 on a bug):',
    '',
    '| command | 0 | 1 | 2 | 3 |',
    '| --- | --- | --- | --- | --- |',
    ...commands.map((command) => `| \`${command}\` | ${[0, 1, 2, 3].map((code) => cell(command, code) || '–').join(' | ')} |`),
  ];
  return lines.join('\n');
}
