import { Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { UsageError } from '../errors.ts';
import { collectList, datasetOption, deprecated, jsonOption, printWarnings, reportDirOption, runIdOption, SHARED_FLAGS, single, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';

interface PushFlags {
  json?: boolean;
  variant?: string[];
  run?: string[];
  repo?: string;
  private?: boolean;
  public?: boolean;
  shareRuns?: boolean;
  store?: string;
  storeRoot?: string;
  dataset?: string;
  withCheckpoints?: boolean;
  reportDir?: string;
  dryRun?: boolean;
}

export function definePush(program: Command, ctx: CliContext): void {
  const command = program
    .command('push')
    .description("publish a run's LoRA to a Hugging Face model repo (weights, model card, samples, report), or share run folders with --share-runs")
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--variant <name>', SHARED_FLAGS.variant, collectList)
    .option('--repo <user/name>', 'target repo (default: hub.model_repo, or hub.runs_repo with --share-runs)')
    .addOption(new Option('--private', 'create the repo private (default: hub.private, true unless set)').conflicts('public'))
    .option('--public', 'create the repo public')
    .option('--share-runs', 'share the run folders of this experiment through a dataset repo instead (see `harness pull`)')
    .option('--with-checkpoints', 'with --share-runs: include output/checkpoint-*/ (large)')
    .addOption(new Option('--store-root <dir>', 'deprecated: use --store').hideHelp())
    .option('--dry-run', 'compare with the remote and list what would be uploaded; change nothing')
    .addHelpText(
      'after',
      `
A model push uploads, in one commit: pytorch_lora_weights.safetensors; README.md (model card: base
model and VAE with their commits, licence of the base model, trigger phrase, training settings, the
series strip and identity scores, a reproducibility block); the newest sample set of the final
weights with its scores under samples/; training/spec.json; report/report.md and the files it links.
Missing samples, scores or report are skipped and listed. Files already on the Hub with the same
content are not uploaded again; if nothing changed, no commit is made.

--variant or --run picks the one run to publish (--run when a variant has several runs in the store).

--share-runs uploads every run folder of the experiment (except locks, dataset caches, checkpoints unless
--with-checkpoints, and runs in progress) to <repo>/<experiment>/<run-id>/, so runs made on several
machines can be pulled together (\`harness pull\`) and reported as one sweep.

Auth: HF_TOKEN, or the token file \`hf auth login\` writes ($HF_HOME/token); the token needs the
"write" role. It is never printed or stored. HF_ENDPOINT selects a mirror.

${exitCodesHelp('push')}

Examples:
  harness push experiments/tok-boy.yaml --variant baseline --repo me/tok-boy-lora
  harness push experiments/tok-boy.yaml --variant rank-16 --repo me/tok-boy-lora --dry-run
  harness push experiments/tok-boy.yaml --share-runs --repo me/tok-boy-runs`,
    );
  runIdOption(command);
  reportDirOption(command);
  // the old `push --store --repo x` reads --repo as the store and x as a second argument: say what changed
  command.allowExcessArguments(true);
  storeOption(datasetOption(jsonOption(command))).action(async (experiment: string, opts: PushFlags, cmd: Command) => {
    const { push } = await import('../commands/push.ts');
    // --store used to be push's switch for sharing run folders; now it names the store, as everywhere
    if (opts.store !== undefined && opts.store.startsWith('-')) {
      throw new UsageError(`--store takes the run store folder, got "${opts.store}"`, 'to share the run folders through a dataset repo, use --share-runs');
    }
    if (cmd.args.length > 1) throw new UsageError(`too many arguments: ${cmd.args.slice(1).join(' ')}`, 'harness push <experiment> [options]; see harness push --help');
    if (opts.storeRoot !== undefined) deprecated(ctx.io, 'push --store-root', '--store');
    const store = opts.store ?? opts.storeRoot;
    const variant = single('--variant', opts.variant, 'push publishes one run');
    const run = single('--run', opts.run, 'push publishes one run');
    const result = await push({
      experiment,
      cwd: ctx.io.cwd,
      env: ctx.io.env,
      ...(store ? { store } : {}),
      ...(opts.dataset ? { dataset: opts.dataset } : {}),
      ...(variant ? { variant } : {}),
      ...(run ? { run } : {}),
      ...(opts.repo ? { repo: opts.repo } : {}),
      ...(opts.private ? { private: true } : opts.public ? { private: false } : {}),
      ...(opts.shareRuns ? { shareStore: true } : {}),
      ...(opts.withCheckpoints ? { withCheckpoints: true } : {}),
      ...(opts.reportDir ? { reportDir: opts.reportDir } : {}),
      ...(opts.dryRun ? { dryRun: true } : {}),
    });
    printWarnings(ctx.io, result.warnings);
    emit(ctx.io, opts.json, result, (r, io) => {
      const what = r.mode === 'store' ? `${r.runs?.length ?? 0} run folder(s)` : `run ${r.runId}`;
      const lines: string[] = [];
      if (r.uploaded.length === 0 && r.deleted.length === 0) lines.push(`${io.style.green('up to date')} ${r.url}: ${what}, ${r.unchanged.length} files unchanged, no commit made`);
      else if (r.dryRun) lines.push(`dry run: would upload ${r.uploaded.length} and delete ${r.deleted.length} file(s) of ${what} to ${r.url} (${r.unchanged.length} unchanged)`);
      else lines.push(`${io.style.green('pushed')} ${what} to ${r.url}${r.created ? ' (new repo)' : ''}: commit ${r.commit}, ${r.uploaded.length} uploaded, ${r.unchanged.length} unchanged, ${r.deleted.length} deleted`);
      for (const file of r.uploaded) lines.push(`  + ${file}`);
      for (const file of r.deleted) lines.push(`  - ${file}`);
      for (const skip of r.skipped) lines.push(`${io.style.yellow('skipped')} ${skip}`);
      return lines.join('\n');
    });
  });
}
