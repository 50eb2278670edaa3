// The licence a LoRA inherits from its base model, for the card's front matter.
import { modelInfo } from '@huggingface/hub';
import { libParams, type HubContext } from './client.ts';

/** Licences of the base models this harness is built for, so publishing needs no extra request. */
const KNOWN: Record<string, string> = {
  'stabilityai/stable-diffusion-xl-base-1.0': 'openrail++',
};

/** The base model's licence: known, or read from its model card data on the Hub; null if unknown. */
export async function baseModelLicense(ctx: HubContext, model: { id: string; commit: string | null }): Promise<{ license: string | null; warning?: string }> {
  const known = KNOWN[model.id];
  if (known) return { license: known };
  try {
    const info = await modelInfo({ ...libParams(ctx), name: model.id, revision: model.commit ?? 'main', additionalFields: ['cardData'] });
    const license = (info.cardData as { license?: unknown } | undefined)?.license;
    if (typeof license === 'string') return { license };
    return { license: null, warning: `${model.id} declares no licence in its card: the card has none either; add one by hand` };
  } catch (error) {
    return { license: null, warning: `could not read the licence of ${model.id} (${(error as Error).message.split('. URL')[0]}): the card has none` };
  }
}
