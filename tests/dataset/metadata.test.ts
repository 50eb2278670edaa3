import { describe, expect, it } from 'vitest';
import { checkFileName, parseMetadata, serializeMetadata } from '../../harness/dataset/metadata.ts';

describe('checkFileName', () => {
  it('accepts plain names and harmless ./ prefixes', () => {
    expect(checkFileName('01.png')).toEqual({ ok: true, name: '01.png' });
    expect(checkFileName('./01.png')).toEqual({ ok: true, name: '01.png' });
  });

  it.each([['../x.png'], ['/etc/x.png'], ['C:\\x.png'], ['c:x.png'], ['a/../../x.png'], ['..\\x.png'], ['\\\\server\\x.png']])('refuses %s as an escape', (name) => {
    expect(checkFileName(name)).toMatchObject({ ok: false, reason: 'escape' });
  });

  it('refuses subfolders and empty names', () => {
    expect(checkFileName('sub/x.png')).toMatchObject({ ok: false, reason: 'not-flat' });
    expect(checkFileName('sub/../x.png')).toMatchObject({ ok: false, reason: 'not-flat' });
    expect(checkFileName(' ')).toMatchObject({ ok: false, reason: 'empty' });
  });
});

describe('parseMetadata', () => {
  it('keeps line numbers, skips blank lines and a BOM, and explains bad lines', () => {
    const { lines, blankLines } = parseMetadata('\uFEFF{"file_name":"a.png","prompt":"p"}\r\n\n"text"\n{oops\n');
    expect(blankLines).toEqual([2]);
    expect(lines.map((l) => [l.line, l.value?.file_name, l.error?.split(' (')[0]])).toEqual([
      [1, 'a.png', undefined],
      [3, undefined, 'not a JSON object'],
      [4, undefined, 'not JSON'],
    ]);
  });
});

describe('serializeMetadata', () => {
  it('writes one line per entry, sorted by file name, file_name and prompt first', () => {
    const text = serializeMetadata([
      { prompt: 'b', file_name: 'b.png', extra: 1 },
      { file_name: 'a.png', prompt: 'a "quoted"' },
    ]);
    expect(text).toBe('{"file_name":"a.png","prompt":"a \\"quoted\\""}\n{"file_name":"b.png","prompt":"b","extra":1}\n');
  });
});
