// Pure rules of `harness caption`: which images need BLIP, which captions are hand edits to keep, and
// the metadata.jsonl that results. A caption is automatic when it still equals what harness wrote last
// time (recorded in the hidden caption record); anything else in metadata.jsonl is a hand edit.
import type { MetadataEntry } from './metadata.ts';
import { compareNames } from './files.ts';

export const BLIP_MODEL = {
  id: 'Salesforce/blip-image-captioning-base',
  // main as of Aug 2023 ("Update README.md (#22)"); the weights have not changed since Dec 2022.
  revision: '89b09ea1789f7addf2f6d6f0dfc4ce10ab58ef84',
} as const;

export const BLIP_GENERATION = { max_length: 50, num_beams: 1, do_sample: false } as const;

export interface CaptionRecordEntry {
  /** BLIP's text as returned (first line, trimmed) */
  blip: string;
  /** sha256 of the image file it was made from */
  imageSha256: string;
  /** the prompt harness wrote: prefix + blip */
  prompt: string;
  model: { id: string; revision: string };
  device: string;
  dtype: string;
}

export interface CaptionRecord {
  schemaVersion: number;
  entries: Record<string, CaptionRecordEntry>;
}

export interface CaptionInputs {
  /** the PNGs to caption, with the sha256 of each file */
  images: { name: string; sha256: string }[];
  /** the current metadata.jsonl entries by file name */
  existing: Map<string, MetadataEntry>;
  record: CaptionRecord | null;
  prefix: string;
  force: boolean;
  model: { id: string; revision: string };
}

export type CaptionAction = 'new' | 'updated' | 'unchanged' | 'kept';

export interface CaptionChange {
  file: string;
  action: CaptionAction;
  previous: string | null;
  prompt: string;
  /** where the caption came from this time */
  source: 'blip' | 'record' | 'hand';
  /** a kept hand edit whose image changed since harness last captioned it */
  imageChanged?: boolean;
}

/** Images whose caption must come from BLIP now (the rest are kept or reused from the record). */
export function imagesNeedingBlip(inputs: CaptionInputs): string[] {
  return inputs.images.filter((image) => !isKept(inputs, image.name) && !reusable(inputs, image)).map((image) => image.name);
}

function isKept(inputs: CaptionInputs, name: string): boolean {
  if (inputs.force) return false;
  const current = inputs.existing.get(name)?.prompt;
  if (typeof current !== 'string' || current.trim() === '') return false;
  const recorded = inputs.record?.entries[name];
  return !recorded || recorded.prompt !== current;
}

function reusable(inputs: CaptionInputs, image: { name: string; sha256: string }): boolean {
  if (inputs.force) return false;
  const recorded = inputs.record?.entries[image.name];
  return recorded !== undefined && recorded.imageSha256 === image.sha256 && recorded.model.revision === inputs.model.revision && recorded.model.id === inputs.model.id;
}

/** BLIP's answer as a caption: its first line, trimmed (what the reference Colab did). */
export function cleanCaption(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}

export interface CaptionOutcome {
  changes: CaptionChange[];
  /** metadata.jsonl entries, sorted by file name */
  metadata: MetadataEntry[];
  /** metadata lines for files that are no longer PNGs of the folder */
  dropped: string[];
  record: CaptionRecord;
}

export function applyCaptions(
  inputs: CaptionInputs,
  blip: Map<string, { text: string; device: string; dtype: string }>,
): CaptionOutcome {
  const changes: CaptionChange[] = [];
  const metadata: MetadataEntry[] = [];
  const entries: Record<string, CaptionRecordEntry> = {};
  for (const image of [...inputs.images].sort((a, b) => compareNames(a.name, b.name))) {
    const existing = inputs.existing.get(image.name);
    const previous = typeof existing?.prompt === 'string' && existing.prompt.trim() !== '' ? existing.prompt : null;
    const recorded = inputs.record?.entries[image.name];
    if (isKept(inputs, image.name)) {
      metadata.push(existing!);
      if (recorded) entries[image.name] = recorded;
      const imageChanged = recorded !== undefined && recorded.imageSha256 !== image.sha256;
      changes.push({ file: image.name, action: 'kept', previous, prompt: previous!, source: 'hand', ...(imageChanged ? { imageChanged } : {}) });
      continue;
    }
    let entry: CaptionRecordEntry;
    let source: CaptionChange['source'];
    const fresh = blip.get(image.name);
    if (fresh) {
      const text = cleanCaption(fresh.text);
      entry = { blip: text, imageSha256: image.sha256, prompt: inputs.prefix + text, model: { ...inputs.model }, device: fresh.device, dtype: fresh.dtype };
      source = 'blip';
    } else if (recorded && reusable(inputs, image)) {
      entry = { ...recorded, prompt: inputs.prefix + recorded.blip };
      source = 'record';
    } else {
      throw new Error(`no caption for ${image.name}: the captioner did not answer for it`);
    }
    entries[image.name] = entry;
    metadata.push({ ...(existing ?? {}), file_name: image.name, prompt: entry.prompt });
    const action: CaptionAction = previous === null ? 'new' : previous === entry.prompt ? 'unchanged' : 'updated';
    changes.push({ file: image.name, action, previous, prompt: entry.prompt, source });
  }
  const names = new Set(inputs.images.map((image) => image.name));
  const dropped = [...inputs.existing.keys()].filter((name) => !names.has(name)).sort(compareNames);
  return { changes, metadata, dropped, record: { schemaVersion: 1, entries } };
}
