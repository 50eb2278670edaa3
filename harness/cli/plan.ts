import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { datasetOption, jsonOption, printWarnings, scriptOption, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';
import { formatSetting, shellQuote, table } from './table.ts';

export function definePlan(program: Command, ctx: CliContext): void {
  const command = program
    .command('plan')
    .description('show what `sweep` would run: run ids, what differs from the baseline, and the exact trainer argv')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .addHelpText(
      'after',
      `
Nothing is written and no GPU is needed. Run ids are <variant>-<hash8>, the hash over the resolved
settings, the dataset content, the script sha256 and the model commits: same inputs, same id, and a
finished run is never trained again. Without the dataset folder the ids are marked provisional.

${exitCodesHelp('plan')}

Examples:
  harness plan experiments/tok-boy.yaml
  harness plan experiments/tok-boy.yaml --json | jq '.runs[].id'`,
    );
  scriptOption(command);
  storeOption(datasetOption(jsonOption(command))).action(async (experiment: string, opts: { json?: boolean; store?: string; dataset?: string; script?: string }) => {
    const { plan } = await import('../commands/plan.ts');
    const result = await plan({ experiment, cwd: ctx.io.cwd, env: ctx.io.env, store: opts.store, dataset: opts.dataset, ...(opts.script ? { script: opts.script } : {}) });
    printWarnings(ctx.io, result.warnings);
    emit(ctx.io, opts.json, result, (r, io) => {
      const rows = r.runs.map((run) => [
        run.id + (run.provisional ? io.style.yellow(' (provisional)') : ''),
        Object.entries(run.overrides).map(([k, v]) => `${k}=${formatSetting(v)}`).join(' ') || '(baseline)',
        run.steps ? `${run.steps.maxTrainSteps} steps, ${run.steps.epochs} epochs × ${run.steps.stepsPerEpoch}` : `${run.settings.max_train_steps ?? '?'} steps`,
      ]);
      const dataset = r.dataset.found ? `${r.dataset.images} images, hash ${r.dataset.hash?.slice(0, 12)}` : io.style.yellow('not found');
      const lines = [
        `${io.style.bold(r.experiment)}: ${r.runs.length} runs · store ${r.storeRoot} · dataset ${r.dataset.dir} (${dataset})`,
        '',
        table(['run', 'differs from baseline', 'training'], rows),
        '',
      ];
      for (const run of r.runs) {
        lines.push(io.style.bold(`# ${run.id}`) + (run.aliases.length ? ` (same as ${run.aliases.join(', ')})` : ''));
        lines.push(`${shellQuote(run.command)}  # runs ${run.provenance.script} with:`);
        lines.push(`  ${shellQuote(run.argv)}`, '');
      }
      return lines.join('\n');
    });
  });
}
