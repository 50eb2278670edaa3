import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { ExitCode } from '../errors.ts';
import { jsonOption, runIdOption, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';
import { table } from './table.ts';

export function defineSync(program: Command, ctx: CliContext): void {
  const command = program
    .command('sync')
    .description('send to Weights & Biases every run\'s tracking data it has not acknowledged yet')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--timeout <seconds>', 'time one run may take, retries included', (v) => Number(v), 300)
    .addHelpText(
      'after',
      `
The run store is the truth; W&B mirrors it. Runs made offline (no key, WANDB_MODE=offline,
tracking.wandb.mode: offline) or while W&B was unreachable keep everything in the store, and this
sends it: the run (config, group, tags), history rows on the training step, sample images, scores,
summary and the exit status. W&B's file offsets make it idempotent: a second sync sends nothing new.
Runs in use by a live process are skipped (their live mirror ships them).

Key: WANDB_API_KEY, or ~/.netrc's entry for the API host. Server: WANDB_BASE_URL (default
https://api.wandb.ai). The key is never written to the store or printed.

--run picks run ids (default: every run of the experiment in the store).

${exitCodesHelp('sync')}

Examples:
  harness sync experiments/tok-boy.yaml
  harness sync experiments/tok-boy.yaml --run baseline-1a2b3c4d --json`,
    );
  runIdOption(command);
  storeOption(jsonOption(command)).action(
    async (experiment: string, opts: { json?: boolean; store?: string; run?: string[]; timeout: number }) => {
      const { sync } = await import('../commands/sync.ts');
      const result = await sync({
        experiment,
        cwd: ctx.io.cwd,
        env: ctx.io.env,
        store: opts.store,
        ...(opts.run ? { runs: opts.run } : {}),
        ...(Number.isFinite(opts.timeout) && opts.timeout > 0 ? { timeoutS: opts.timeout } : {}),
        // W&B may not answer (offline): say what is being waited on, and for how long at most
        onSlowRun: (runId, index, total, server, timeoutS) =>
          ctx.io.stderr.write(`${ctx.io.style.dim(`still sending ${runId} (${index + 1}/${total}) to ${server}: waiting for an answer, retrying for up to ${timeoutS} s`)}…\n`),
      });
      if (result.totals.failed > 0) ctx.setExitCode(ExitCode.remote);
      emit(ctx.io, opts.json, result, (r, io) => {
        const rows = r.runs.map((run) => [
          run.runId,
          run.skipped ? io.style.dim(`skipped: ${run.skipped}`) : run.error ? io.style.red(`failed: ${run.error}`) : io.style.green(run.after?.label ?? 'sent'),
          String(run.historySent),
          String(run.filesUploaded),
          run.completed ? 'yes' : run.after?.completed ? 'earlier' : 'no',
          run.after ? `${run.after.history.pending} rows, ${run.after.files.pending} files` : '',
        ]);
        const head = `${io.style.bold(r.experiment)} → ${r.server} project ${r.project} · ${r.totals.runs} runs, ${r.totals.historySent} rows, ${r.totals.filesUploaded} files sent`;
        return `${head}\n\n${table(['run', 'result', 'rows sent', 'files sent', 'complete', 'pending'], rows)}`;
      });
    },
  );
}
