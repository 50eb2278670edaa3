// Markdown escaping: variant names are user text (`a|b`, `<x>`, `*`, backticks) and must neither break a
// table nor turn into HTML or emphasis on GitHub.

const MARKDOWN_SPECIALS = /[\\`*_{}[\]()#+!|~]/g;

/** Text for a Markdown table cell or paragraph: specials escaped, `<`/`>`/`&` as entities, no newlines. */
export function mdText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(MARKDOWN_SPECIALS, (c) => `\\${c}`)
    .replace(/\r?\n/g, ' ');
}

/** A relative link target: each path segment percent-encoded, so odd names stay one link. */
export function mdHref(relativePath: string): string {
  return relativePath
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

export function mdLink(text: string, relativePath: string): string {
  return `[${mdText(text)}](${mdHref(relativePath)})`;
}

export function mdImage(alt: string, relativePath: string): string {
  return `![${mdText(alt)}](${mdHref(relativePath)})`;
}

/** Inline code that survives backticks inside (a longer fence) and pipes inside tables. */
export function mdCode(text: string, inTable = false): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const body = inTable ? text.replace(/\|/g, '\\|') : text;
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run inside. */
export function mdFence(text: string, info = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${info}\n${text}\n${fence}`;
}

/**
 * A file-name-safe slug of a run or scene id for asset names. Ids that needed changing get a short
 * hash so that two odd names never share a file.
 */
export function assetSlug(id: string, hash: (s: string) => string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe === id ? id : `${safe}-${hash(id).slice(0, 6)}`;
}

/** Text inside an HTML element (`<summary>`), where Markdown backslashes would show literally. */
export function htmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}
