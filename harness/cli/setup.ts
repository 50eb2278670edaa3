import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import type { EnvCheck } from '../train/envcheck.ts';
import type { SnapshotProgress } from '../hub/snapshot.ts';
import { jsonOption, modelOptions, pythonOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { ExitCode } from '../errors.ts';
import { emit, type Io } from './io.ts';
import { gib as gibOf } from '../report/format.ts';

export function defineSetup(program: Command, ctx: CliContext): void {
  const command = program
    .command('setup')
    .description('prepare a training machine: pinned diffusers script (sha256-checked, cached), Python environment, model snapshots')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--script <file>', 'no network: a copy of the pinned script fetched elsewhere; checked against base.diffusers.sha256 and put into the cache')
    .option('--no-snapshot', 'do not download missing pinned snapshots; only report them')
    .addHelpText(
      'after',
      `
Downloads base.diffusers.script at base.diffusers.commit from GitHub (base URL: $HARNESS_SCRIPT_BASE_URL),
refuses it unless its sha256 equals base.diffusers.sha256, and caches it under $XDG_CACHE_HOME/harness
(default ~/.cache/harness). Without network, --script FILE caches a copy fetched elsewhere (same check). Then runs python/envinfo.py and lists every missing package with the command
that installs it (python/requirements-cuda.txt: torch from the CUDA 12.6 builds, which carry kernels from the P100 to the H100),
and downloads the pinned model and VAE snapshots that are not in the Hugging Face cache yet (only the files
the pipeline needs, verified; \`--no-snapshot\` only reports them; an unpinned experiment needs
\`harness pin\` first).

${exitCodesHelp('setup')}

Examples:
  harness setup experiments/tok-boy.yaml
  harness setup experiments/tok-boy.yaml --python /opt/venv/bin/python --json`,
    );
  pythonOption(command);
  modelOptions(command);
  jsonOption(command).action(async (experiment: string, opts: { json?: boolean; python?: string; model?: string; vae?: string; snapshot?: boolean; script?: string }) => {
    const { setup } = await import('../commands/setup.ts');
    const snapshotLine = snapshotProgressLines();
    const result = await setup({
      experiment,
      cwd: ctx.io.cwd,
      env: ctx.io.env,
      ...opts,
      onMessage: (message) => ctx.io.stderr.write(`${message}\n`),
      onSnapshotProgress: (progress) => {
        const line = snapshotLine(progress);
        if (line) ctx.io.stderr.write(`${line}\n`);
      },
    });
    emit(ctx.io, opts.json, result, (r, io) => {
      const lines = [`${io.style.bold(r.experiment)}: ${r.ok ? io.style.green('ready to train') : io.style.red('not ready')}`, ''];
      lines.push(`${mark(io, true)} script  ${r.script.path} (sha256 ${r.script.sha256.slice(0, 16)}…, ${r.script.source === 'download' ? `downloaded from ${r.script.url}` : 'cached'})`);
      for (const m of r.models) {
        lines.push(`${mark(io, m.exists)} ${m.role.padEnd(6)}  ${m.id}@${m.commit ? m.commit.slice(0, 12) : 'unpinned'}  ${m.path}${m.hint ? `\n           ${io.style.dim(m.hint)}` : ''}`);
      }
      lines.push(...renderEnvCheck(io, r.environment));
      return lines.join('\n');
    });
    if (result.downloadError) ctx.setExitCode(ExitCode.remote);
    else if (!result.ok) ctx.setExitCode(ExitCode.failed);
  });
}

function mark(io: Io, ok: boolean): string {
  return ok ? io.style.green('ok  ') : io.style.red('MISS');
}

/** The environment part of `setup` and `doctor`. */
export function renderEnvCheck(io: Io, env: EnvCheck): string[] {
  const lines: string[] = [];
  lines.push(`${mark(io, env.pythonVersion !== null)} python  ${env.python}${env.pythonVersion ? ` (${env.pythonVersion})` : ''}`);
  if (env.torch) lines.push(`${mark(io, true)} torch   ${env.torch.version} (CUDA ${env.torch.cuda ?? 'none'}; kernels for ${env.torch.archList.join(' ') || 'no GPU arch'})`);
  for (const gpu of env.gpus) {
    lines.push(`${mark(io, true)} gpu     ${gpu.name}, compute capability ${gpu.capability}, ${gpu.memoryMb ? gibOf(gpu.memoryMb) : '? GiB'}, driver ${gpu.driver ?? '?'}`);
  }
  const versions = Object.entries(env.packages).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`);
  if (versions.length) lines.push(`        ${io.style.dim(versions.join(', '))}`);
  for (const e of env.errors) lines.push(`${io.style.red('error')}   ${e.message}${e.hint ? `\n        ${io.style.dim(`fix: ${e.hint}`)}` : ''}`);
  for (const w of env.warnings) lines.push(`${io.style.yellow('warning')} ${w.message}${w.hint ? `\n        ${io.style.dim(w.hint)}` : ''}`);
  return lines;
}

/**
 * Lines, not a bar (a notebook or a log shows no bar): one per downloaded file, and one per tenth of a repo's
 * bytes while a file downloads, so the SDXL UNet (10 GB in one file) does not go silent for minutes.
 */
export function snapshotProgressLines(): (progress: SnapshotProgress) => string | null {
  let lastFile = '';
  const tenths = new Map<string, number>();
  const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2);
  return (progress) => {
    if (progress.state === 'downloaded' && progress.file !== lastFile) {
      lastFile = progress.file;
      return `snapshot ${progress.repo}: ${progress.file} (${progress.filesDone} files, ${gib(progress.bytesDone)} of ${gib(progress.bytesTotal)} GiB)`;
    }
    if (progress.state !== 'downloading' || progress.bytesTotal <= 0) return null;
    const tenth = Math.floor((10 * progress.bytesDone) / progress.bytesTotal);
    if (tenth <= (tenths.get(progress.repo) ?? 0)) return null;
    tenths.set(progress.repo, tenth);
    return `snapshot ${progress.repo}: ${tenth * 10} % (${gib(progress.bytesDone)} of ${gib(progress.bytesTotal)} GiB), downloading ${progress.file}`;
  };
}
