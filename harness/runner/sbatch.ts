// The one question asked of SLURM: submit this script, which job id did it get?
import { execa } from 'execa';
import { RemoteError, UsageError } from '../errors.ts';

export function sbatchCommand(script: string): [string, string[]] {
  return ['sbatch', ['--parsable', script]];
}

export async function submitSbatch(script: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const [file, args] = sbatchCommand(script);
  const result = await execa(file, args, { env, reject: false });
  if (result.failed && (result as { code?: string }).code === 'ENOENT') {
    throw new UsageError('sbatch was not found on PATH', 'run --submit on a SLURM login node, or submit the written script yourself with `sbatch FILE`');
  }
  if (result.exitCode !== 0) {
    throw new RemoteError(`sbatch refused the job (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`, {
      hint: 'the script is written; fix what SLURM says (partition, account, limits) and submit it with `sbatch FILE`',
    });
  }
  // --parsable prints "jobid" or "jobid;cluster"
  return result.stdout.trim().split(';')[0]!;
}
