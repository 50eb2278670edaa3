// Experiment files in stages: YAML → shape (zod, every problem at once) → named rules → resolved paths.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError, UsageError, type Problem } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';
import { FLAGS, SETTABLE_FLAGS } from './flags.ts';
import { experimentSchema, type ExperimentFile } from './schema.ts';
import { checkRules } from './rules.ts';
import { formatPath, parseYamlSource, problemAt, type KeyPath, type YamlSource } from './yaml-source.ts';
import { nearPath } from '../util/near-path.ts';

export interface Experiment {
  /** absolute path of the experiment file */
  file: string;
  name: string;
  config: ExperimentFile;
  /** absolute paths resolved against the experiment file's folder */
  datasetDir: string;
  referenceDir: string;
  goldensDir: string;
  /** python.requirements as an absolute path: the environment the harness makes and uses; null: none */
  pythonRequirements: string | null;
  warnings: Problem[];
}

export async function loadExperiment(file: string, cwd = process.cwd()): Promise<Experiment> {
  const absolute = path.resolve(cwd, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const near = code === 'ENOENT' ? await nearPath(file, cwd, { kind: 'file', extensions: ['.yaml', '.yml'] }) : undefined;
    throw new UsageError(
      code === 'ENOENT' ? `experiment file not found: ${file}` : code === 'EISDIR' ? `${file} is a folder, not an experiment file` : `cannot read experiment file ${file}: ${code ?? error}`,
      near ? `did you mean ${near}?` : 'pass the path of an experiment YAML, e.g. experiments/tok-boy.yaml',
    );
  }
  const binary = binaryKind(bytes);
  if (binary) {
    throw new UsageError(`${file} is not an experiment file: it looks like ${binary}, not YAML text`, 'pass the path of an experiment YAML, e.g. experiments/tok-boy.yaml');
  }
  const text = bytes.toString('utf8');
  return parseExperiment(path.relative(cwd, absolute) || absolute, text, absolute);
}

const MAGIC: [string, number[]][] = [
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47]],
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['a PDF', [0x25, 0x50, 0x44, 0x46]],
  ['a zip archive', [0x50, 0x4b, 0x03, 0x04]],
  ['a gzip archive', [0x1f, 0x8b]],
  ['a WebP or other RIFF file', [0x52, 0x49, 0x46, 0x46]],
];

/** What a binary file looks like (an image passed by mistake), or undefined for text. */
function binaryKind(bytes: Buffer): string | undefined {
  for (const [name, magic] of MAGIC) if (magic.every((b, i) => bytes[i] === b)) return name;
  const head = bytes.subarray(0, 4096);
  if (head.includes(0)) return 'a binary file';
  const decoded = head.toString('utf8');
  const replaced = (decoded.match(/\uFFFD/g) ?? []).length;
  return replaced > 8 ? 'a binary file' : undefined;
}

/** Pure: text in, experiment out (or a ConfigError listing every problem). */
export function parseExperiment(displayName: string, text: string, absolutePath = path.resolve(displayName)): Experiment {
  const { source, problems } = parseYamlSource(displayName, text);
  if (problems.length > 0) throw new ConfigError(problems);
  const raw: unknown = source.doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ file: displayName, line: 1, col: 1, message: 'an experiment file is a YAML mapping (name:, base:, dataset:, baseline:, …)' }]);
  }
  const parsed = experimentSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new ConfigError(zodProblems(source, parsed.error.issues, raw));
  const config = parsed.data;
  const { errors, warnings } = checkRules(config);
  if (errors.length > 0) throw new ConfigError(errors.map((r) => problemAt(source, r.path, r.message, r.atKey)));
  const dir = path.dirname(absolutePath);
  return {
    file: absolutePath,
    name: config.name,
    config,
    datasetDir: path.resolve(dir, config.dataset.dir),
    referenceDir: path.resolve(dir, config.scoring.reference ?? config.dataset.dir),
    goldensDir: path.resolve(dir, config.regression.goldens ?? path.join('goldens', config.name)),
    pythonRequirements: config.python ? path.resolve(dir, config.python.requirements) : null,
    warnings: warnings.map((r) => problemAt(source, r.path, r.message, r.atKey)),
  };
}

function zodProblems(source: YamlSource, issues: z.core.$ZodIssue[], raw: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const at = issue.path as KeyPath;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(unknownKey(source, at, key));
    } else if (issue.code === 'invalid_type' && !hasPath(raw, at)) {
      problems.push(problemAt(source, at, `is required (${expected(issue)})`));
    } else {
      problems.push(problemAt(source, at, describeIssue(issue)));
    }
  }
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function unknownKey(source: YamlSource, at: KeyPath, key: string): Problem {
  const keyPath = [...at, key];
  const isSettings = at[0] === 'baseline' || (at[0] === 'variants' && at.length === 2);
  if (isSettings) {
    const managed = FLAGS[key]?.managed;
    if (managed) return problemAt(source, keyPath, `is set by the harness, not by hand: ${managed}`, true);
    return problemAt(source, keyPath, `unknown training setting${didYouMean(key, SETTABLE_FLAGS)}`, true);
  }
  return problemAt(source, keyPath, `unknown key${didYouMean(key, knownKeys(at))}`, true);
}

function knownKeys(at: KeyPath): string[] {
  let schema: unknown = experimentSchema;
  for (const segment of at) {
    schema = unwrap(schema);
    const def = (schema as { def?: Record<string, unknown> }).def;
    if (!def) return [];
    if (def.type === 'object') schema = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === 'record') schema = def.valueType;
    else if (def.type === 'array') schema = def.element;
    else return [];
  }
  const def = (unwrap(schema) as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema as { def?: { type?: string; innerType?: unknown } } | undefined;
  while (current?.def && ['optional', 'default', 'nullable', 'prefault'].includes(current.def.type ?? '')) {
    current = current.def.innerType as typeof current;
  }
  return current;
}

/** Whether the file wrote something at `at` (zod reports a missing key and a wrong value alike). */
function hasPath(raw: unknown, at: KeyPath): boolean {
  let node = raw;
  for (const segment of at) {
    if (node === null || typeof node !== 'object' || !(String(segment) in (node as object))) return false;
    node = (node as Record<string, unknown>)[String(segment)];
  }
  return true;
}

function expected(issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.message;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected === 'number' ? 'a number' : issue.expected === 'string' ? 'a text' : issue.expected === 'boolean' ? 'true or false' : issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${describeValue(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return withValue(issue.message, issue.input);
    default:
      return withValue(issue.message, (issue as { input?: unknown }).input);
  }
}

function withValue(message: string, input: unknown): string {
  return input === undefined ? message : `${message}; got ${describeValue(input)}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

export { formatPath };
