import { describe, expect, it } from 'vitest';
import { BLIP_MODEL, applyCaptions, cleanCaption, imagesNeedingBlip, type CaptionInputs, type CaptionRecord } from '../../harness/dataset/caption-plan.ts';
import type { MetadataEntry } from '../../harness/dataset/metadata.ts';

const P = 'a photo of TOK boy, ';
const recordOf = (entries: Record<string, { blip: string; sha: string; prompt?: string; revision?: string }>): CaptionRecord => ({
  schemaVersion: 1,
  entries: Object.fromEntries(
    Object.entries(entries).map(([name, e]) => [
      name,
      { blip: e.blip, imageSha256: e.sha, prompt: e.prompt ?? P + e.blip, model: { id: BLIP_MODEL.id, revision: e.revision ?? BLIP_MODEL.revision }, device: 'cpu', dtype: 'float32' },
    ]),
  ),
});
const meta = (rows: [string, string][]) => new Map<string, MetadataEntry>(rows.map(([file_name, prompt]) => [file_name, { file_name, prompt }]));
const inputs = (over: Partial<CaptionInputs>): CaptionInputs => ({
  images: [{ name: 'a.png', sha256: 'A' }, { name: 'b.png', sha256: 'B' }],
  existing: new Map(),
  record: null,
  prefix: P,
  force: false,
  model: { ...BLIP_MODEL },
  ...over,
});
const blip = (names: string[]) => new Map(names.map((n) => [n, { text: `caption of ${n}\nmore`, device: 'cpu', dtype: 'float32' }]));

describe('caption rules', () => {
  it('captions everything the first time', () => {
    const i = inputs({});
    expect(imagesNeedingBlip(i)).toEqual(['a.png', 'b.png']);
    const out = applyCaptions(i, blip(['a.png', 'b.png']));
    expect(out.metadata).toEqual([
      { file_name: 'a.png', prompt: `${P}caption of a.png` },
      { file_name: 'b.png', prompt: `${P}caption of b.png` },
    ]);
    expect(out.changes.map((c) => c.action)).toEqual(['new', 'new']);
    expect(out.record.entries['a.png']).toMatchObject({ blip: 'caption of a.png', imageSha256: 'A', prompt: `${P}caption of a.png` });
  });

  it('reuses recorded captions for unchanged images and recaptions changed images', () => {
    const record = recordOf({ 'a.png': { blip: 'x', sha: 'A' }, 'b.png': { blip: 'y', sha: 'OLD' } });
    const i = inputs({ record, existing: meta([['a.png', `${P}x`], ['b.png', `${P}y`]]) });
    expect(imagesNeedingBlip(i)).toEqual(['b.png']);
    const out = applyCaptions(i, blip(['b.png']));
    expect(out.changes.map((c) => [c.action, c.source])).toEqual([['unchanged', 'record'], ['updated', 'blip']]);
  });

  it('recaptions when the pinned model revision changes', () => {
    const record = recordOf({ 'a.png': { blip: 'x', sha: 'A', revision: '0'.repeat(40) } });
    expect(imagesNeedingBlip(inputs({ record, existing: meta([['a.png', `${P}x`]]) }))).toEqual(['a.png', 'b.png']);
  });

  it('keeps hand edits, also ones harness never wrote, and flags a kept edit whose image changed', () => {
    const record = recordOf({ 'a.png': { blip: 'x', sha: 'OLD' } });
    const i = inputs({ record, existing: meta([['a.png', `${P}x, edited`], ['b.png', 'from elsewhere']]) });
    expect(imagesNeedingBlip(i)).toEqual([]);
    const out = applyCaptions(i, new Map());
    expect(out.changes).toEqual([
      { file: 'a.png', action: 'kept', previous: `${P}x, edited`, prompt: `${P}x, edited`, source: 'hand', imageChanged: true },
      { file: 'b.png', action: 'kept', previous: 'from elsewhere', prompt: 'from elsewhere', source: 'hand' },
    ]);
    // the record keeps what BLIP said, so the edit stays recognisable as an edit next time
    expect(out.record.entries['a.png']!.prompt).toBe(`${P}x`);
  });

  it('--force recaptions everything, hand edits included', () => {
    const i = inputs({ force: true, record: recordOf({ 'a.png': { blip: 'x', sha: 'A' } }), existing: meta([['a.png', 'mine']]) });
    expect(imagesNeedingBlip(i)).toEqual(['a.png', 'b.png']);
    expect(applyCaptions(i, blip(['a.png', 'b.png'])).changes.map((c) => c.action)).toEqual(['updated', 'new']);
  });

  it('treats an empty prompt as missing and drops lines of images that are gone', () => {
    const i = inputs({ existing: meta([['a.png', '  '], ['gone.png', `${P}z`]]) });
    expect(imagesNeedingBlip(i)).toEqual(['a.png', 'b.png']);
    const out = applyCaptions(i, blip(['a.png', 'b.png']));
    expect(out.dropped).toEqual(['gone.png']);
    expect(out.changes[0]!.action).toBe('new');
  });

  it('fails loudly when the captioner skipped an image', () => {
    expect(() => applyCaptions(inputs({}), blip(['a.png']))).toThrow(/no caption for b\.png/);
  });

  it('keeps the first line of BLIP output, trimmed', () => {
    expect(cleanCaption('  a boy smiling \nsecond')).toBe('a boy smiling');
    expect(cleanCaption('')).toBe('');
  });
});
