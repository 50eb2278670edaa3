import path from 'node:path';
import { Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { datasetOption, deprecated, jsonOption, reportDirOption, storeOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';

export function defineReport(program: Command, ctx: CliContext): void {
  const command = program
    .command('report')
    .description('write a Markdown comparison of the runs (report.md + SVG charts + PNG contact sheets) from the run store')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .addOption(new Option('--out <dir>', 'deprecated: use --report-dir').hideHelp())
    .addHelpText(
      'after',
      `
The report reads the store only (no GPU, nothing is trained or scored) and works with any mix of
planned, running, failed and finished runs. It contains:
  - a summary naming the best run and why (identity, markers, cost), or saying there is not enough data
  - the runs: settings that differ from the baseline, status, smoothed loss, peak VRAM, s/it, wall time,
    identity and marker scores with 95 % intervals, coverage and Δ vs the baseline
  - charts (charts/*.svg): loss, VRAM, identity over checkpoints, identity vs cost with the Pareto front
  - contact sheets per scene (sheets/*.png) and the nine-scene series per run (series/*.png), linking
    to full-size copies of the samples (images/, hard links where the file system allows)
  - regression verdicts of \`harness check\`, and what is needed to redo each run
Same store, same bytes: the report can be committed and diffed. Links are relative. Reports follow the
store: reports/<experiment>/ beside a store called runs/, DIR-reports/<experiment>/ beside another store DIR.

${exitCodesHelp('report')}

Examples:
  harness report experiments/tok-boy.yaml
  harness report experiments/tok-boy.yaml --report-dir /tmp/tok-boy-report --store /mnt/drive/runs
  harness report experiments/tok-boy.yaml --json | jq .best`,
    );
  storeOption(datasetOption(jsonOption(reportDirOption(command)))).action(async (experiment: string, opts: { json?: boolean; store?: string; dataset?: string; out?: string; reportDir?: string }) => {
    const { report } = await import('../commands/report.ts');
    if (opts.out !== undefined) deprecated(ctx.io, 'report --out', '--report-dir');
    const out = opts.reportDir ?? opts.out;
    const result = await report({ experiment, cwd: ctx.io.cwd, env: ctx.io.env, store: opts.store, dataset: opts.dataset, ...(out ? { out } : {}) });
    for (const warning of result.warnings) ctx.io.stderr.write(`${ctx.io.style.yellow('warning')} ${warning}\n`);
    emit(ctx.io, opts.json, result, (r, io) => {
      const shown = path.relative(io.cwd, r.reportPath) || r.reportPath;
      const states = new Map<string, number>();
      for (const run of r.runs) states.set(run.state, (states.get(run.state) ?? 0) + 1);
      const counts = [...states.entries()].map(([s, n]) => `${n} ${s}`).join(', ');
      return `${io.style.bold(shown)}: ${r.runs.length} runs (${counts || 'none'}), ${r.files.length} files` + (r.best ? ` · best: ${r.best}` : ' · not enough scores to pick a best run');
    });
  });
}
