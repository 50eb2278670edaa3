import type { Command } from 'commander';
import type { CliContext } from '../cli.ts';
import type { Io } from './io.ts';
import { interruptible, jsonOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { InterruptedError } from '../errors.ts';
import { untilAborted } from '../util/abort.ts';
import { emit } from './io.ts';
import { table } from './table.ts';

export function definePin(program: Command, ctx: CliContext): void {
  const command = program
    .command('pin')
    .description('resolve base.model and base.vae to commit SHAs and write them into the experiment file')
    .argument('<experiment>', 'experiment YAML, e.g. experiments/tok-boy.yaml')
    .option('--update', 're-resolve models that are already pinned (moves the pins to the branch head)')
    .option('--revision <ref>', 'branch or tag to resolve', 'main')
    .option('--dry-run', 'show what would be written; change nothing')
    .option('--snapshot', 'then download the files the pipeline needs at those commits into the HF cache')
    .option('--verify-cache', 'with --snapshot: re-hash files already in the cache instead of trusting their size')
    .addHelpText(
      'after',
      `
Only the "commit:" values change in the file; comments and layout stay as written. Pinning changes
the run ids (they hash the commits), so pin before training.

--snapshot downloads exactly what the SDXL pipeline loads (model_index.json, scheduler, both
tokenizers and text encoders, unet, the VAE repo's config + weights; *.fp16.safetensors only where a
run sets variant: fp16) into $HF_HUB_CACHE (default $HF_HOME/hub, ~/.cache/huggingface/hub) in the
layout huggingface_hub uses, so training and sampling run with HF_HUB_OFFLINE=1. Downloads resume
where they stopped and every file is checked against the size and sha256 the Hub lists.

Auth: HF_TOKEN, or the token file \`hf auth login\` writes ($HF_HOME/token); needed only for gated or
private repos. HF_ENDPOINT selects a mirror.

What it waits on (each Hub request, each retry after no answer) is said on stderr. Ctrl-C stops at once:
the experiment file is only ever replaced whole, and downloads resume where they stopped.

${exitCodesHelp('pin')}

Examples:
  harness pin experiments/tok-boy.yaml
  harness pin experiments/tok-boy.yaml --snapshot
  harness pin experiments/tok-boy.yaml --update --dry-run --json`,
    );
  jsonOption(command).action(
    async (experiment: string, opts: { json?: boolean; update?: boolean; revision: string; dryRun?: boolean; snapshot?: boolean; verifyCache?: boolean }) => {
      const { pin } = await import('../commands/pin.ts');
      const progress = progressPrinter(ctx.io);
      const stop = interruptible(ctx.io, 'stopping pin');
      const io = ctx.io;
      let result;
      try {
        result = await untilAborted(
          pin({
            experiment,
            cwd: ctx.io.cwd,
            env: ctx.io.env,
            revision: opts.revision,
            ...(opts.update ? { update: true } : {}),
            ...(opts.dryRun ? { dryRun: true } : {}),
            ...(opts.snapshot ? { snapshot: true, onProgress: progress.update } : {}),
            ...(opts.verifyCache ? { verify: 'full' as const } : {}),
            onWait: (message) => {
              progress.done();
              io.stderr.write(`${io.style.dim(message)}…\n`);
            },
          }),
          stop.signal,
          () => new InterruptedError('pin interrupted', `run the same command again: ${experiment} is replaced whole or not at all, and downloads resume where they stopped`),
        );
      } finally {
        stop.dispose();
        progress.done();
      }
      emit(ctx.io, opts.json, result, (r, io) => {
        const rows = r.refs.map((ref) => [ref.key, ref.id, ref.commit, ref.changed ? (ref.before ? `was ${ref.before.slice(0, 12)}` : 'pinned') : 'unchanged']);
        // models the harness builds (`build:`) are pinned by the digest of their files, not through the Hub
        if (rows.length === 0) return `${r.file} has no Hub models to pin: its model and VAE are built by the harness (base.*.build), pinned by their files' digest`;
        const lines = [table(['key', 'repo', 'commit', ''], rows), ''];
        if (r.written) lines.push(`${io.style.green('wrote')} ${r.file} (run ids change with the commits: \`harness plan ${r.file}\`)`);
        else if (r.refs.some((ref) => ref.changed)) lines.push(`dry run: ${r.file} not changed`);
        else lines.push(`${r.file} already pinned`);
        for (const s of r.snapshots) {
          lines.push(`snapshot ${s.id}@${s.commit.slice(0, 12)}: ${s.files} files, ${formatBytes(s.bytesTotal)} (${s.downloaded} downloaded, ${s.cached} already cached) → ${s.dir}`);
        }
        return lines.join('\n');
      });
    },
  );
}

/** A one-line progress bar on a terminal; one line per finished file otherwise. Always on stderr. */
export function progressPrinter(io: Io): { update: (p: { repo: string; file: string; state: string; bytesDone: number; bytesTotal: number; filesDone: number; filesTotal: number }) => void; done: () => void } {
  const tty = Boolean(io.stderr.isTTY);
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      if (!tty) {
        if (p.state === 'downloaded' || p.state === 'cached') io.stderr.write(`${p.state.padEnd(10)} ${p.repo}/${p.file}\n`);
        return;
      }
      const now = Date.now();
      if (now - last < 100 && p.state === 'downloading') return;
      last = now;
      const width = 24;
      const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 1;
      const bar = '#'.repeat(Math.round(ratio * width)).padEnd(width, '-');
      const line = `[${bar}] ${(ratio * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)} ${p.filesDone}/${p.filesTotal} ${p.repo.split('/')[1] ?? p.repo}/${p.file}`;
      const columns = io.stderr.columns ?? 100;
      io.stderr.write(`\r${line.slice(0, columns - 1).padEnd(columns - 1)}`);
      drawn = true;
    },
    done() {
      if (drawn) io.stderr.write('\n');
      drawn = false;
    },
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
