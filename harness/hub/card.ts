// Pure: the model card (README.md) of a published LoRA: Hub front matter, then what a reader needs to
// use, judge and reproduce it.
import { stringify } from 'yaml';
import type { RunSpec } from '../plan/planner.ts';
import type { SampleSetManifest } from '../samples/types.ts';
import type { Aggregate, ScoreReport } from '../scoring/types.ts';

export interface CardInput {
  repoId: string;
  hubUrl: string;
  experiment: string;
  spec: Pick<RunSpec, 'id' | 'variant' | 'settings' | 'overrides' | 'provenance'>;
  license: string | null;
  weights: { file: string; sha256: string };
  /** the sample set shown, its images uploaded under `samples/` */
  samples: { manifest: SampleSetManifest; dir: string } | null;
  scores: ScoreReport | null;
  /** repo path of the report's series strip for this run, when the report has one */
  seriesStrip: string | null;
  /** repo path of the uploaded report, when there is one */
  report: string | null;
  env: Record<string, unknown> | null;
}

export function modelCard(input: CardInput): string {
  const { spec } = input;
  const p = spec.provenance;
  const front: Record<string, unknown> = {
    base_model: p.model.id,
    base_model_relation: 'adapter',
    ...(input.license ? { license: input.license } : {}),
    library_name: 'diffusers',
    pipeline_tag: 'text-to-image',
    tags: ['text-to-image', 'diffusers', 'lora', 'dreambooth', 'stable-diffusion-xl', 'stable-diffusion-xl-diffusers', 'template:sd-lora'],
    instance_prompt: p.instancePrompt,
    ...(input.samples ? { widget: widget(input.samples) } : {}),
  };
  const lines = [`---\n${stringify(front, { lineWidth: 0 }).trimEnd()}\n---`, ''];
  lines.push(`# ${input.repoId.split('/')[1]}: a DreamBooth LoRA for SDXL`, '');
  const script = p.scriptPinned === false ? `a local copy of the diffusers script \`${p.script}\` (sha256 ${p.scriptSha256}, not the pinned one)` : `the diffusers script \`${p.script}\``;
  lines.push(`LoRA weights trained with ${script} on **${p.model.id}**, run \`${spec.id}\` (variant \`${spec.variant}\`) of the experiment \`${input.experiment}\`.`, '');
  lines.push('## Trigger phrase', '', `Use \`${p.instancePrompt}\` in the prompt.`, '');
  lines.push('## Base model and VAE', '', '| | repo | commit |', '|---|---|---|');
  lines.push(`| base model | [${p.model.id}](${input.hubUrl}/${p.model.id}) | ${commitCell(input.hubUrl, p.model)} |`);
  lines.push(`| VAE | [${p.vae.id}](${input.hubUrl}/${p.vae.id}) | ${commitCell(input.hubUrl, p.vae)} |`, '');
  lines.push('## Use it', '', '```python', ...usage(input), '```', '');

  if (input.seriesStrip || input.samples) lines.push('## The series', '', ...series(input), '');
  if (input.scores) lines.push('## Identity consistency', '', ...scores(input.scores), '');

  lines.push('## Training settings', '', '| setting | value | |', '|---|---|---|');
  for (const [key, value] of Object.entries(spec.settings)) {
    lines.push(`| \`${key}\` | \`${String(value)}\` | ${key in spec.overrides ? 'differs from the baseline' : ''} |`);
  }
  lines.push('');
  lines.push('## Reproducibility', '', '```yaml', stringify(reproBlock(input), { lineWidth: 0 }).trimEnd(), '```', '');
  lines.push(
    `Same inputs give the same run id: the id hashes the settings above, the dataset content, the script's sha256 and both commits. With the experiment file and dataset: \`harness run experiments/${input.experiment}.yaml --variant ${spec.variant}\`.`,
    '',
  );
  if (input.report) lines.push(`The full experiment report (every run, loss curves, contact sheets): [${input.report}](${input.report}).`, '');
  return `${lines.join('\n').trimEnd()}\n`;
}

function commitCell(hubUrl: string, ref: { id: string; commit: string | null }): string {
  return ref.commit ? `[\`${ref.commit}\`](${hubUrl}/${ref.id}/tree/${ref.commit})` : '**unpinned**';
}

function widget(samples: NonNullable<CardInput['samples']>): { text: string; output: { url: string } }[] {
  const seed = samples.manifest.spec.seeds[0];
  return samples.manifest.images
    .filter((image) => image.seed === seed)
    .map((image) => ({
      text: samples.manifest.spec.prompts.find((p) => p.id === image.promptId)?.prompt ?? image.promptId,
      output: { url: `${samples.dir}/${image.file}` },
    }));
}

function usage(input: CardInput): string[] {
  const p = input.spec.provenance;
  const revision = (ref: { commit: string | null }) => (ref.commit ? `, revision="${ref.commit}"` : '');
  const s = input.samples?.manifest.spec;
  return [
    'import torch',
    'from diffusers import AutoencoderKL, StableDiffusionXLPipeline',
    '',
    `vae = AutoencoderKL.from_pretrained("${p.vae.id}"${revision(p.vae)}, torch_dtype=torch.float16)`,
    `pipe = StableDiffusionXLPipeline.from_pretrained("${p.model.id}"${revision(p.model)}, vae=vae, torch_dtype=torch.float16).to("cuda")`,
    `pipe.load_lora_weights("${input.repoId}", weight_name="${input.weights.file}")`,
    `image = pipe("${p.instancePrompt}, …"${s ? `, num_inference_steps=${s.steps}, guidance_scale=${s.guidance_scale}` : ''}).images[0]`,
  ];
}

function series(input: CardInput): string[] {
  if (input.seriesStrip) return [`![series strip](${input.seriesStrip})`];
  const samples = input.samples!;
  const seed = samples.manifest.spec.seeds[0];
  const row = samples.manifest.images.filter((image) => image.seed === seed);
  return [
    `Seed ${seed}, ${samples.manifest.spec.steps} steps, guidance ${samples.manifest.spec.guidance_scale}, ${samples.manifest.spec.scheduler}, LoRA scale ${samples.manifest.spec.lora_scale}; all seeds are in \`${samples.dir}/\`.`,
    '',
    `| ${row.map((image) => image.promptId).join(' | ')} |`,
    `|${row.map(() => '---').join('|')}|`,
    `| ${row.map((image) => `![${image.promptId}](${samples.dir}/${image.file})`).join(' | ')} |`,
  ];
}

function scores(report: ScoreReport): string[] {
  const lines = [
    'Scores are relative to how consistent the reference photos are with each other (1.0 = as consistent as the real photos); intervals are bootstrap 95 % over seeds.',
    '',
    '| marker | mean | 95 % interval | images scored | reference |',
    '|---|---|---|---|---|',
  ];
  for (const [marker, agg] of Object.entries(report.summary)) {
    const ceiling = report.reference.ceiling[marker as keyof typeof report.reference.ceiling];
    lines.push(`| ${marker} | ${num(agg.mean)} | ${interval(agg)} | ${agg.n}/${agg.total} | ${ceiling ? num(ceiling.mean) : ''} |`);
  }
  lines.push('', `Scorer ${report.scorer.version}, ${report.reference.count} reference photos.`);
  return lines;
}

function num(value: number | null): string {
  return value === null ? '–' : value.toFixed(3);
}

function interval(agg: Aggregate): string {
  return agg.ci95 ? `${num(agg.ci95[0])} – ${num(agg.ci95[1])}` : '–';
}

function reproBlock(input: CardInput): Record<string, unknown> {
  const p = input.spec.provenance;
  return {
    run_id: input.spec.id,
    experiment: input.experiment,
    variant: input.spec.variant,
    base_model: { id: p.model.id, commit: p.model.commit },
    vae: { id: p.vae.id, commit: p.vae.commit },
    // a local --script copy is not the pinned release's script: its hash is never paired with that commit
    diffusers:
      p.scriptPinned === false
        ? { script: 'a local copy, not the pinned one', script_sha256: p.scriptSha256, stands_in_for: { release: p.diffusersRelease, commit: p.diffusersCommit, script: p.script, script_sha256: p.pinnedSha256 ?? null } }
        : { release: p.diffusersRelease, commit: p.diffusersCommit, script: p.script, script_sha256: p.scriptSha256 },
    dataset_sha256: p.datasetHash,
    weights: { file: input.weights.file, sha256: input.weights.sha256 },
    ...(input.samples ? { sample_set: input.samples.manifest.setId } : {}),
    ...(input.env ? { environment: pickEnv(input.env) } : {}),
  };
}

/** The versions and hardware that matter for reproducing; never the whole env (paths, hosts). */
function pickEnv(env: Record<string, unknown>): Record<string, unknown> {
  const keep = ['python', 'torch', 'diffusers', 'transformers', 'accelerate', 'peft', 'bitsandbytes', 'cuda', 'cudnn', 'gpu', 'gpus', 'driver', 'versions'];
  return Object.fromEntries(Object.entries(env).filter(([key]) => keep.includes(key)));
}
