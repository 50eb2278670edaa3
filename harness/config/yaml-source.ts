// YAML text with positions: maps a key path to `line:col` so every problem names where it is.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Problem } from '../errors.ts';

export type KeyPath = readonly (string | number)[];

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export function parseYamlSource(file: string, text: string): { source: YamlSource; problems: Problem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const problems: Problem[] = doc.errors.map((error) => {
    const pos = lines.linePos(error.pos[0]);
    const key = error.code === 'DUPLICATE_KEY' ? duplicateKeyAt(text, error.pos[0]) : undefined;
    const message =
      error.code === 'DUPLICATE_KEY'
        ? `duplicate key${key ? ` "${key}"` : ''}: each name may appear once in a mapping (the second entry would silently replace the first)`
        : error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { file, line: pos.line, col: pos.col, message };
  });
  return { source: { file, doc, lines }, problems };
}

/** The key the yaml parser flags as a duplicate, read from the text at its position. */
function duplicateKeyAt(text: string, offset: number): string | undefined {
  const match = /^(?:"([^"\n]*)"|'([^'\n]*)'|([^:#\n]+?))\s*:/.exec(text.slice(offset, offset + 200));
  return match ? (match[1] ?? match[2] ?? match[3])?.trim() : undefined;
}

/** Position of the node at `path` (its key when `atKey`), or of the deepest ancestor that exists. */
export function locate(source: YamlSource, path: KeyPath, atKey = false): { line: number; col: number } | undefined {
  let node: unknown = source.doc.contents;
  let keyNode: Node | undefined;
  let lastFound: Node | undefined = isNode(node) ? node : undefined;
  for (const segment of path) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      keyNode = isNode(pair.key) ? pair.key : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else break;
    if (isNode(node)) lastFound = node;
    else if (keyNode) lastFound = keyNode;
  }
  const target = atKey && keyNode ? keyNode : lastFound;
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  const pos = source.lines.linePos(offset);
  return { line: pos.line, col: pos.col };
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

export function problemAt(source: YamlSource, path: KeyPath, message: string, atKey = false): Problem {
  const pos = locate(source, path, atKey);
  return { file: source.file, ...(pos ?? {}), key: formatPath(path), message };
}

export function formatPath(path: KeyPath): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}
