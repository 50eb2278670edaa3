import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { datasetOption, jsonOption, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';
import { table } from './table.ts';
import { finishedStages, type Stage, type StageOutcome } from '../store/status.ts';

/** What a failed run still has: the stages that finished before the one that failed. */
function kept(stages: Partial<Record<Stage, StageOutcome>>): string {
  const done = finishedStages(stages);
  return done.length ? `, ${done.join(' and ')}` : '';
}

export function defineStatus(program: Command, ctx: CliContext): void {
  const command = program
    .command('status')
    .description('list every planned run of an experiment with its state in the run store')
    .argument('<experiment>', 'experiment YAML')
    .addHelpText(
      'after',
      `
States: planned → training → trained → sampling → sampled → scoring → done, or failed (with a reason:
oom, nan_loss, crashed, interrupted, …). Each stage keeps its own outcome: "failed (interrupted), trained"
is a run whose sampling was stopped after its training finished; the next sweep or run goes on from there. Runs in the store that the experiment no longer plans (older
settings) are listed after the planned ones. The W&B column says what \`harness sync\` would still send, and the
last W&B error in plain words (e.g. "cannot reach api.wandb.ai: DNS lookup failed").
A run stopped by Ctrl-C or SIGTERM shows as interrupted (stored as failed with reason interrupted): the
same command resumes it.

${exitCodesHelp('status')}`,
    );
  storeOption(datasetOption(jsonOption(command))).action(async (experiment: string, opts: { json?: boolean; store?: string; dataset?: string }) => {
    const { status, shownState } = await import('../commands/status.ts');
    const result = await status({ experiment, cwd: ctx.io.cwd, env: ctx.io.env, store: opts.store, dataset: opts.dataset });
    for (const warning of result.warnings) ctx.io.stderr.write(`${ctx.io.style.yellow('warning')} ${warning}\n`);
    emit(ctx.io, opts.json, result, (r, io) => {
      const paint = (state: string) => (state === 'done' ? io.style.green(state) : state === 'failed' ? io.style.red(state) : state === 'interrupted' ? io.style.yellow(state) : state);
      const rows = r.runs.map((run) => [
        run.id + (run.planned ? '' : io.style.dim(' (not planned)')),
        paint(shownState(run)) + (run.reason && run.reason !== 'interrupted' ? ` (${run.reason})` : '') + (run.state === 'failed' ? kept(run.stages) : ''),
        run.lock ? `${run.lock.stale ? 'stale lock' : 'locked'} by pid ${run.lock.pid}@${run.lock.host}` : '',
        (run.sync.label === 'pending' ? `pending (${run.sync.pendingRows} rows, ${run.sync.pendingFiles} files)` : run.sync.label) +
          (run.sync.lastError ? `: ${io.style.red(run.sync.lastError)}` : ''),
        run.updatedAt ?? '',
      ]);
      const counts = Object.entries(r.counts).map(([s, n]) => `${n} ${s}`).join(', ');
      // a resumed run says whether it is what an uninterrupted run would have trained
      const resumed = r.runs.filter((run) => run.resume).map((run) => `${run.id}: ${run.resume!.equivalent === false ? io.style.yellow(run.resume!.summary) : run.resume!.summary}`);
      return `${io.style.bold(r.experiment)} · store ${r.storeRoot} · ${counts}\n\n${table(['run', 'state', 'lock', 'W&B', 'updated'], rows)}${resumed.length ? `\n\n${resumed.join('\n')}` : ''}`;
    });
  });
}
