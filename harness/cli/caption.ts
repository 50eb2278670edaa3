import { Option, type Command } from 'commander';
import type { CliContext } from '../cli.ts';
import { jsonOption, printWarnings, pythonOption } from './common.ts';
import { exitCodesHelp } from './contract.ts';
import { emit } from './io.ts';

export function defineCaption(program: Command, ctx: CliContext): void {
  const command = program
    .command('caption')
    .description('caption the PNGs of a dataset with BLIP and write metadata.jsonl (sorted, with the trigger prefix)')
    .argument('[dir]', "dataset folder (default: the experiment's dataset.dir)")
    .option('-e, --experiment <file>', "take the folder and caption prefix from this experiment's dataset:")
    .option('--prefix <text>', 'put before every caption (default: dataset.caption_prefix, else "a photo of TOK boy, ")')
    .option('--force', 'recaption every image, replacing hand-edited captions too')
    .option('--dry-run', 'show what would change in metadata.jsonl; write nothing (BLIP still runs for new images)')
    .option('--blip <dir>', 'a local BLIP folder (save_pretrained layout) instead of the pinned Hub model; recorded by the digest of its files')
    .addOption(new Option('--device <device>', 'where BLIP runs (fp16 on cuda, fp32 on cpu)').choices(['auto', 'cuda', 'cpu']).default('auto'))
    .addHelpText(
      'after',
      `
Runs python/caption.py with Salesforce/blip-image-captioning-base at a pinned revision (or the local
folder --blip names, e.g. a copy for a machine without the Hub): unconditional, greedy, max_length 50.
Each prompt is <prefix><first line of BLIP's caption>. metadata.jsonl is replaced atomically, one line
per PNG, sorted by file name.

Hand edits are kept: harness records what it wrote in <dir>/.harness-captions.json, and a prompt that
differs from it (or that harness did not write) is left alone unless --force. Images whose caption is
already recorded for the same file content are not captioned again; a new --prefix is applied to them.

Needs Python with the packages of python/requirements-cuda.txt:
  python3 -m pip install -r python/requirements-cuda.txt

${exitCodesHelp('caption')}

Examples:
  harness caption data/tok-boy --dry-run
  harness caption --experiment experiments/tok-boy.yaml
  harness caption data/tok-boy --force --python .venv/bin/python
  harness caption data/tok-boy --blip ~/models/blip-image-captioning-base`,
    );
  pythonOption(command);
  jsonOption(command).action(
    async (dir: string | undefined, opts: { experiment?: string; prefix?: string; force?: boolean; dryRun?: boolean; python?: string; blip?: string; device: 'auto' | 'cuda' | 'cpu'; json?: boolean }) => {
      const { caption } = await import('../commands/caption.ts');
      const result = await caption({
        dir,
        experiment: opts.experiment,
        prefix: opts.prefix,
        force: opts.force,
        dryRun: opts.dryRun,
        python: opts.python,
        model: opts.blip,
        device: opts.device,
        cwd: ctx.io.cwd,
        env: ctx.io.env,
        onCaption: (name, _text, done, total) => ctx.io.stderr.write(`${ctx.io.style.dim(`captioned ${done}/${total}`)} ${name}\n`),
      });
      printWarnings(ctx.io, result.warnings);
      emit(ctx.io, opts.json, result, (r, io) => {
        const lines: string[] = [];
        for (const change of r.changes) {
          if (change.action === 'new') lines.push(io.style.green(`+ ${change.file}: ${change.prompt}`));
          else if (change.action === 'updated') {
            lines.push(`~ ${change.file}:`, io.style.red(`    - ${change.previous}`), io.style.green(`    + ${change.prompt}`));
          } else if (change.action === 'kept') lines.push(io.style.dim(`= ${change.file}: kept (hand-edited): ${change.prompt}`));
        }
        for (const name of r.dropped) lines.push(io.style.red(`- ${name}: dropped (no such PNG in the folder)`));
        const c = r.counts;
        const how = r.captioner ? ` · BLIP on ${r.captioner.device} (${r.captioner.dtype})` : ' · BLIP not needed';
        const verb = r.dryRun ? 'dry run, nothing written' : r.written ? `wrote ${r.dir}/metadata.jsonl` : 'metadata.jsonl already up to date';
        lines.push(`${c.new} new, ${c.updated} updated, ${c.unchanged} unchanged, ${c.kept} kept, ${c.dropped} dropped${how} · ${verb}`);
        return lines.join('\n');
      });
    },
  );
}
