// Pure: which files of a repo listing the SDXL pipeline loads, so a snapshot holds exactly those.
// The training script loads tokenizers, text encoders, scheduler and UNet from the base model and
// the VAE from base.vae when one is named (so base vae/ weights are then never read); from_pretrained
// picks `<name>.<variant>.safetensors` when a variant is asked for and `<name>.safetensors` otherwise.

export interface Selection {
  files: string[];
  /** what the pipeline would look for and the listing lacks */
  missing: string[];
}

const WEIGHT = /^(?:diffusion_pytorch_model|model)(?:-\d{5}-of-\d{5})?(?:\.([a-z0-9_]+))?\.safetensors$/;
const WEIGHT_INDEX = /^(?:diffusion_pytorch_model|model)\.safetensors\.index(?:\.([a-z0-9_]+))?\.json$/;

/** Variants to fetch: each run's `variant` setting (null = the full-precision files). */
export type Variants = (string | null)[];

export function sdxlBaseFiles(paths: string[], opts: { variants: Variants; separateVae: boolean }): Selection {
  const out: Selection = { files: [], missing: [] };
  need(out, paths, 'model_index.json');
  need(out, paths, 'scheduler/scheduler_config.json');
  for (const tokenizer of ['tokenizer', 'tokenizer_2']) {
    const files = paths.filter((p) => dirOf(p) === tokenizer);
    if (files.length === 0) out.missing.push(`${tokenizer}/ (vocab.json, merges.txt, tokenizer_config.json, …)`);
    out.files.push(...files);
  }
  for (const component of ['text_encoder', 'text_encoder_2', 'unet', 'vae']) {
    need(out, paths, `${component}/config.json`);
    if (component === 'vae' && opts.separateVae) continue;
    weights(out, paths, component, opts.variants);
  }
  return finish(out);
}

/** A diffusers AutoencoderKL repo (config.json + weights at the root), e.g. madebyollin/sdxl-vae-fp16-fix. */
export function vaeRepoFiles(paths: string[], opts: { variants: Variants }): Selection {
  const out: Selection = { files: [], missing: [] };
  need(out, paths, 'config.json');
  weights(out, paths, '', opts.variants);
  return finish(out);
}

function weights(out: Selection, paths: string[], dir: string, variants: Variants): void {
  const inDir = paths.filter((p) => dirOf(p) === dir);
  for (const variant of new Set(variants)) {
    const chosen = inDir.filter((p) => {
      const name = baseName(p);
      const match = WEIGHT.exec(name) ?? WEIGHT_INDEX.exec(name);
      return match !== null && (match[1] ?? null) === variant;
    });
    if (chosen.length === 0) {
      const suffix = variant ? `.${variant}` : '';
      out.missing.push(`${dir ? `${dir}/` : ''}*${suffix}.safetensors (${variant ? `variant ${variant}` : 'full-precision weights'})`);
    }
    out.files.push(...chosen);
  }
}

function need(out: Selection, paths: string[], file: string): void {
  if (paths.includes(file)) out.files.push(file);
  else out.missing.push(file);
}

function finish(out: Selection): Selection {
  return { files: [...new Set(out.files)].sort(), missing: out.missing };
}

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i === -1 ? '' : p.slice(0, i);
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
