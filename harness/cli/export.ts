import { Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { datasetOption, jsonOption, outFileOption, scriptOption, storeOption, wholeNumber as positiveInt } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';

export function defineExport(program: Command, ctx: CliContext): void {
  const group = program
    .command('export')
    .description('hand a sweep to an existing engine: W&B sweep agents or a SLURM job array');

  const sweep = group
    .command('wandb-sweep')
    .description('write a W&B sweep.yaml whose agents run `harness run … --params-json-file ${args_json_file}`')
    .argument('<experiment>', 'experiment YAML')
    .addOption(new Option('--method <method>', 'how W&B picks trials').choices(['grid', 'random', 'bayes']).default('grid'))
    .addOption(new Option('--metric <metric>', 'what the sweep optimises').choices(['identity', 'loss']).default('identity'))
    .addOption(new Option('--over <what>', 'runs: one `variant` parameter over every planned run; grid: the grid axes').choices(['runs', 'grid']).default('runs'))
    .option('--run-cap <n>', 'stop a random/bayes sweep after n trials', positiveInt)
    .addHelpText(
      'after',
      `
Each trial gets the same run id as the equivalent variant or grid point, so results from agents and
from \`harness sweep\` never duplicate. Then:
  wandb sweep --project tok-boy tok-boy.sweep.yaml      # prints the sweep id
  wandb agent <entity>/tok-boy/<sweep-id>               # on each GPU box, in a harness checkout
  harness pull experiments/tok-boy.yaml --from <user>/<runs-repo> && harness report experiments/tok-boy.yaml

${exitCodesHelp('export wandb-sweep')}`,
    );
  outFileOption(sweep, 'the sweep config (default: <experiment>.sweep.yaml)');
  storeOption(datasetOption(jsonOption(sweep))).action(async (experiment: string, opts) => {
    const { exportWandbSweep } = await import('../commands/export.ts');
    const result = await exportWandbSweep({ experiment, cwd: ctx.io.cwd, env: ctx.io.env, ...opts });
    emit(ctx.io, opts.json, result, (r) => [`wrote ${r.file} (${r.trials} trials, method ${r.sweep.method}, metric ${r.sweep.metric.name})`, '', 'next:', ...r.next.map((c) => `  ${c}`)].join('\n'));
  });

  const slurm = group
    .command('slurm')
    .description('write an sbatch script for a job array over the planned runs (task i = run i), optionally submit it')
    .argument('<experiment>', 'experiment YAML')
    .option('--partition <name>', 'SLURM partition')
    .option('--gpus-per-task <n>', 'GPUs per array task', positiveInt, 1)
    .option('--max-parallel <n>', 'at most n tasks at once (--array=0-N%n)', positiveInt)
    .option('--time <limit>', 'time limit per task, e.g. 02:00:00')
    .option('--cpus-per-task <n>', 'CPUs per task', positiveInt)
    .option('--mem <size>', 'memory per task, e.g. 32G')
    .option('--account <name>', 'SLURM account')
    .option('--run-args <args>', 'appended to each task\'s `harness run`, e.g. "--python /opt/venv/bin/python"')
    .option('--submit', 'submit it with sbatch and print the job id')
    .addHelpText(
      'after',
      `
The store must be on a file system every node sees (run locks keep two tasks off one run). Tasks are
--requeue'd: a preempted task starts again and resumes from its run's last complete checkpoint.

${exitCodesHelp('export slurm')}

Example:
  harness export slurm experiments/tok-boy.yaml --store /shared/runs --partition gpu --max-parallel 4 --submit`,
    );
  outFileOption(slurm, 'the sbatch script (default: <experiment>.sbatch)');
  scriptOption(slurm);
  storeOption(datasetOption(jsonOption(slurm))).action(async (experiment: string, opts) => {
    const { exportSlurm } = await import('../commands/export.ts');
    const result = await exportSlurm({ experiment, cwd: ctx.io.cwd, env: ctx.io.env, ...opts });
    emit(ctx.io, opts.json, result, (r) =>
      [`wrote ${r.file}: ${r.tasks.length} array tasks`, ...r.tasks.map((t) => `  ${t.index}  ${t.id}`), ...(r.jobId ? [`submitted: job ${r.jobId}`] : [])].join('\n'),
    );
  });
}
