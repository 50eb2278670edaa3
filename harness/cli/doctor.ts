import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { jsonOption, pythonOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';
import { renderEnvCheck } from './setup.ts';

export function defineDoctor(program: Command, ctx: CliContext): void {
  const command = program
    .command('doctor')
    .description('check the Python environment and the GPU for training (downloads nothing)')
    .argument('[experiment]', "experiment YAML: also check its runs' needs (bf16, 8-bit Adam, …) and the cached script")
    .addHelpText(
      'after',
      `
Runs python/envinfo.py: Python, torch with its CUDA build and the GPU architectures it has kernels for,
diffusers/transformers/accelerate/peft/bitsandbytes/datasets versions, every GPU with compute capability,
memory and driver. Refuses what cannot work: bf16 below compute capability 8.0, a torch without kernels
for the card (torch ≥ 2.8 from the CUDA 12.8+ builds has none for a P100), missing packages.

${exitCodesHelp('doctor')}

Examples:
  harness doctor
  harness doctor experiments/tok-boy.yaml --python /opt/venv/bin/python --json`,
    );
  pythonOption(command);
  jsonOption(command).action(async (experiment: string | undefined, opts: { json?: boolean; python?: string }) => {
    const { doctor } = await import('../commands/doctor.ts');
    const result = await doctor({ cwd: ctx.io.cwd, env: ctx.io.env, ...(experiment ? { experiment } : {}), ...(opts.python ? { python: opts.python } : {}) });
    emit(ctx.io, opts.json, result, (r, io) => {
      const lines = [`${r.ok ? io.style.green('ready to train') : io.style.red('not ready')} (node ${r.node})`, ''];
      if (r.script) lines.push(`${r.script.cached ? io.style.green('ok  ') : io.style.red('MISS')} script  ${r.script.path}${r.script.cached ? '' : io.style.dim(`\n        fix: harness setup ${experiment}`)}`);
      lines.push(...renderEnvCheck(io, r.environment));
      return lines.join('\n');
    });
    if (!result.ok) ctx.setExitCode(1);
  });
}
