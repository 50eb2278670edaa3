// The real python/caption.py, as far as it runs without torch: its protocol for a bad spec and for
// missing packages. `python3 -S` hides site-packages, so the import of torch fails on any machine.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const SCRIPT = path.join(REPO, 'python', 'caption.py');

async function runScript(spec: unknown): Promise<{ exitCode: number | undefined; events: Record<string, unknown>[]; stderr: string }> {
  const dir = await tempDir('harness-caption-py-');
  const file = path.join(dir, 'spec.json');
  await writeFile(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
  const result = await execa('python3', ['-S', SCRIPT, file], { reject: false });
  return { exitCode: result.exitCode, events: result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: result.stderr };
}

const spec = {
  schemaVersion: 1,
  model: { id: 'Salesforce/blip-image-captioning-base', revision: '89b09ea1789f7addf2f6d6f0dfc4ce10ab58ef84' },
  device: 'auto',
  dtypes: { cuda: 'float16', cpu: 'float32' },
  generation: { max_length: 50, num_beams: 1, do_sample: false },
  images: [],
};

describe('python/caption.py protocol', () => {
  it('answers a missing package with one error event naming it', async () => {
    const result = await runScript(spec);
    expect(result.exitCode).toBe(1);
    expect(result.events).toEqual([expect.objectContaining({ type: 'error', kind: 'missing_package', package: 'torch' })]);
  });

  it('answers a bad spec with a bad_spec event', async () => {
    const result = await runScript('{"model": {}}');
    expect(result.exitCode).toBe(1);
    expect(result.events).toEqual([expect.objectContaining({ type: 'error', kind: 'bad_spec' })]);
  });

  it('is a usage error without exactly one argument', async () => {
    const result = await execa('python3', ['-S', SCRIPT], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('usage: caption.py <spec.json>');
  });
});
