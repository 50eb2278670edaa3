import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../harness/cli.ts';
import { defaultIo } from '../../harness/cli/io.ts';
import { colorEnabled } from '../../harness/cli/style.ts';
import { experimentJsonSchema, SCHEMA_FILE } from '../../harness/config/json-schema.ts';
import { harness, REPO } from '../helpers/cli.ts';

const commandNames = buildProgram({ io: defaultIo(), setExitCode: () => {} }).commands.map((c) => c.name());

describe('the CLI', () => {
  it('has --help for every command, with a description and usage', async () => {
    expect(commandNames).toEqual(expect.arrayContaining(['plan', 'status']));
    for (const name of commandNames) {
      const result = await harness([name, '--help']);
      expect(result.exitCode, name).toBe(0);
      expect(result.stdout, name).toContain(`Usage: harness ${name}`);
    }
    const top = await harness(['--help']);
    expect(top.exitCode).toBe(0);
    for (const name of commandNames) expect(top.stdout).toContain(name);
  });

  it('answers an unknown command with exit 2 and a did-you-mean', async () => {
    const result = await harness(['pln', 'experiments/tok-boy.yaml']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown command 'pln'");
    expect(result.stderr).toMatch(/Did you mean .*plan/);
  });

  it('answers an unknown flag with exit 2 and a did-you-mean', async () => {
    const result = await harness(['plan', 'experiments/tok-boy.yaml', '--jsn']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown option '--jsn'");
    expect(result.stderr).toContain('Did you mean --json?');
  });

  it('shows help and exits 2 without a command, and prints its version', async () => {
    const none = await harness([]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('Usage: harness');
    const version = await harness(['--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('names a missing experiment file with exit 2 and a hint', async () => {
    const result = await harness(['plan', 'experiments/nope.yaml']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('experiment file not found: experiments/nope.yaml');
    expect(result.stderr).toContain('hint');
    // a typo in the name or the folder: the hint names the file meant
    for (const typo of ['experiments/demo.yml', 'expermients/demo.yaml', './experiments/dmeo.yaml']) {
      const near = await harness(['sweep', typo]);
      expect(near.exitCode, typo).toBe(2);
      expect(near.stderr, typo).toContain('hint  did you mean experiments/demo.yaml?');
    }
  });

  it('colours only on a TTY and never with NO_COLOR', () => {
    expect(colorEnabled(true, {})).toBe(true);
    expect(colorEnabled(false, {})).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(true, { TERM: 'dumb' })).toBe(false);
  });

  it('prints no escape codes when not on a TTY', async () => {
    const result = await harness(['plan', 'experiments/tok-boy.yaml'], { env: { NO_COLOR: undefined } });
    expect(result.stdout + result.stderr).not.toContain('\u001b[');
  });
});

describe('the committed JSON Schema', () => {
  it('is what the validating schema generates now (run `npm run schema` when this fails)', async () => {
    const committed = await readFile(path.join(REPO, SCHEMA_FILE), 'utf8');
    expect(committed).toBe(experimentJsonSchema());
  });

  it('is referenced from the experiment for editors', async () => {
    const text = await readFile(path.join(REPO, 'experiments/tok-boy.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/experiment.schema.json');
  });
});
