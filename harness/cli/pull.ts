import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { jsonOption, runIdOption, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';
import { table } from './table.ts';
import { formatBytes } from './pin.ts';

export function definePull(program: Command, ctx: CliContext): void {
  const command = program
    .command('pull')
    .description('bring run folders shared with `harness push --share-runs` from a Hub dataset repo into the local run store')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--from <user/name>', 'dataset repo (default: hub.runs_repo in the experiment)')
    .option('--with-checkpoints', 'also fetch output/checkpoint-*/ when the repo has them')
    .option('--dry-run', 'compare and report; download nothing')
    .addHelpText(
      'after',
      `
Runs missing here are added whole (downloaded into a hidden folder, then moved into place); runs
present here get the files they lack. A local file is never overwritten: when the remote copy of a
run differs, the run is reported as a conflict and left as it is (exit code 1). Every file is
checked against the size and hash the Hub lists. Runs locked by a live process here are skipped.

Auth: HF_TOKEN or the token file \`hf auth login\` writes, for private repos.

${exitCodesHelp('pull')}

Examples:
  harness pull experiments/tok-boy.yaml --from me/tok-boy-runs
  harness pull experiments/tok-boy.yaml --from me/tok-boy-runs --dry-run --json`,
    );
  runIdOption(command);
  storeOption(jsonOption(command)).action(
    async (experiment: string, opts: { json?: boolean; from?: string; run?: string[]; withCheckpoints?: boolean; dryRun?: boolean; store?: string }) => {
      const { pull } = await import('../commands/pull.ts');
      const result = await pull({
        experiment,
        cwd: ctx.io.cwd,
        env: ctx.io.env,
        ...(opts.store ? { store: opts.store } : {}),
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.run ? { runs: opts.run } : {}),
        ...(opts.withCheckpoints ? { withCheckpoints: true } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
        onWait: (message) => ctx.io.stderr.write(`${ctx.io.style.dim(message)}…\n`),
      });
      if (result.counts.conflict > 0) ctx.setExitCode(1);
      emit(ctx.io, opts.json, result, (r, io) => {
        const rows = r.runs.map((run) => [
          run.run,
          run.state === 'conflict' ? io.style.red(run.state) : run.state === 'added' || run.state === 'merged' ? io.style.green(run.state) : run.state,
          run.state === 'conflict'
            ? `differs here${run.localState ? ` (local run ${run.localState})` : ''}: ${run.conflicts!.slice(0, 4).join(', ')}${run.conflicts!.length > 4 ? ', …' : ''}`
            : run.why ?? (run.files ? `${run.files} file(s)` : ''),
        ]);
        const head = `${r.dryRun ? 'dry run: ' : ''}${r.repo}@${r.commit.slice(0, 12)} → ${r.storeRoot}: ${Object.entries(r.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ') || 'nothing shared for this experiment'}, ${formatBytes(r.bytesDownloaded)}`;
        const tail = r.counts.conflict > 0 ? `\n${io.style.yellow('conflicts')} were left untouched: compare the runs, move the local folder aside to take the remote one, or keep yours` : '';
        return `${head}${rows.length ? `\n\n${table(['run', 'state', ''], rows)}` : ''}${tail}`;
      });
    },
  );
}
