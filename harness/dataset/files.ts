// Names and defaults of a dataset folder (PNGs + metadata.jsonl), in one place. Hidden files are not
// part of the dataset: the `datasets` imagefolder loader skips them and so does the content hash, which
// is why harness keeps its own records (caption record, prepare manifest) as hidden files.

import path from 'node:path';

export const METADATA_FILE = 'metadata.jsonl';
/** What BLIP produced last time, per image: tells an automatic caption from a hand edit. */
export const CAPTION_RECORD_FILE = '.harness-captions.json';
/** What `harness dataset prepare` did, per source photo, written into the destination. */
export const PREPARE_MANIFEST_FILE = '.harness-prepare.json';

export const DEFAULT_IMAGE_SIZE = 1024;
export const DEFAULT_MIN_IMAGES = 5;
export const DEFAULT_CAPTION_PREFIX = 'a photo of TOK boy, ';

/** Files the imagefolder loader would read as images. */
export const IMAGE_FILE = /\.(png|jpe?g|webp|bmp|gif|tiff?)$/i;
/** Other metadata files the imagefolder loader reads; two metadata files in one folder conflict. */
export const OTHER_METADATA_FILE = /^metadata\.(csv|parquet|json)$/i;

export function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/** Byte order of UTF-16 code units: the same on every machine and locale, like the hash. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The instance prompt implied by a caption prefix: "a photo of TOK boy, " → "a photo of TOK boy". */
export function instancePromptFromPrefix(prefix: string): string {
  return prefix.replace(/[\s,;:.]+$/u, '');
}

/** A path for messages: relative to the working folder when inside it, absolute otherwise. */
export function displayPath(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  if (rel === '') return '.';
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? abs : rel;
}
