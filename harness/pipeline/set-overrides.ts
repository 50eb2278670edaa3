// `--set key=value` overrides: typed and validated like the experiment file's baseline.
import { FLAGS } from '../config/flags.ts';
import { trainingSettings, type TrainingSettings } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';

/** `--set key=value` → typed settings, validated like the experiment file's baseline. */
export function parseSetOverrides(pairs: string[]): TrainingSettings {
  const out: TrainingSettings = {};
  const problems: string[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set ${pair}: expected key=value, e.g. --set learning_rate=5e-5`);
      continue;
    }
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    const info = FLAGS[key];
    if (!info) {
      problems.push(`--set ${key}: unknown training setting${didYouMean(key, Object.keys(FLAGS).filter((k) => !FLAGS[k]!.managed))}`);
      continue;
    }
    if (info.managed) {
      problems.push(`--set ${key}: set by the harness, not by hand: ${info.managed}`);
      continue;
    }
    if (info.type === 'int' || info.type === 'float') {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n)) {
        problems.push(`--set ${key}=${raw}: expected ${info.type === 'int' ? 'a whole number' : 'a number'}, got "${raw}"`);
        continue;
      }
      out[key] = n;
    } else {
      out[key] = info.type === 'bool' ? parseBool(raw) : raw;
    }
  }
  const parsed = trainingSettings.safeParse(out, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const value = out[String(issue.path[0])];
      const why = issue.code === 'invalid_value' ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.code === 'invalid_type' && issue.expected === 'boolean' ? 'expected true or false' : issue.message;
      problems.push(`--set ${issue.path.join('.')}=${String(value)}: ${why}; got ${JSON.stringify(value)}`);
    }
  }
  if (problems.length) throw new UsageError(problems.join('\n'), 'settings are the diffusers flags without dashes; see `harness plan --help`');
  return out;
}

function parseBool(raw: string): boolean | string {
  if (/^(true|yes|1|on)$/i.test(raw)) return true;
  if (/^(false|no|0|off)$/i.test(raw)) return false;
  return raw; // left for the schema to refuse with its own message
}
