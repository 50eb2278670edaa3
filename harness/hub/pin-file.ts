// Pure: writes values into an experiment file's text without touching anything else. The yaml
// Document finds each node's byte range; only those bytes change, so comments, quoting, number
// spelling and line breaks stay exactly as the user wrote them (Document.toString() would refold
// long lines and rewrite 1.0e-4 as 1e-4).
import { isMap, isScalar, parseDocument, type Node } from 'yaml';

export interface YamlEdit {
  path: (string | number)[];
  /** a plain scalar (e.g. a commit SHA) */
  value: string;
}

export function applyYamlEdits(text: string, edits: YamlEdit[]): string {
  const doc = parseDocument(text);
  const splices: { start: number; end: number; insert: string }[] = [];
  let fallback = false;
  for (const edit of edits) {
    const node = doc.getIn(edit.path, true) as Node | undefined;
    if (isScalar(node) && node.range) {
      splices.push({ start: node.range[0], end: node.range[1], insert: edit.value });
      continue;
    }
    const splice = node === undefined ? insertKey(text, doc.getIn(edit.path.slice(0, -1), true), String(edit.path.at(-1)), edit.value) : null;
    if (splice) splices.push(splice);
    else fallback = true;
  }
  let out: string;
  if (fallback) {
    // a flow mapping or another shape we cannot splice into: let the library rewrite the file
    for (const edit of edits) doc.setIn(edit.path, edit.value);
    out = doc.toString();
  } else {
    out = text;
    for (const s of splices.sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.insert + out.slice(s.end);
  }
  const check = parseDocument(out);
  for (const edit of edits) {
    if (check.getIn(edit.path) !== edit.value) throw new Error(`internal: writing ${edit.path.join('.')} did not take`);
  }
  return out;
}

/** Adds `key: value` as the last entry of a block mapping, at its indentation. */
function insertKey(text: string, parent: unknown, key: string, value: string): { start: number; end: number; insert: string } | null {
  if (!isMap(parent) || parent.flow || parent.items.length === 0) return null;
  const first = parent.items[0]!.key as Node | undefined;
  const last = parent.items.at(-1)!;
  const lastEnd = (last.value as Node | null)?.range?.[1] ?? (last.key as Node | undefined)?.range?.[1];
  if (!first?.range || lastEnd === undefined) return null;
  const lineStart = text.lastIndexOf('\n', first.range[0] - 1) + 1;
  const indent = text.slice(lineStart, first.range[0]);
  if (!/^ *$/.test(indent)) return null;
  let at = text.indexOf('\n', lastEnd);
  if (at === -1) at = text.length;
  return { start: at, end: at, insert: `\n${indent}${key}: ${value}` };
}
