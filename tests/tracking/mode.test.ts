import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Credentials, netrcKey, resolveTarget } from '../../harness/tracking/mode.ts';
import { tempDir } from '../helpers/tmp.ts';

const wandb = (mode: 'auto' | 'online' | 'offline' | 'disabled') => ({ wandb: { project: 'p', mode } });

describe('tracking mode', () => {
  it('is online with a key, offline without one, and honours WANDB_MODE and the experiment', async () => {
    const home = await tempDir();
    const noNetrc = { HOME: home };
    expect(resolveTarget(wandb('auto'), { ...noNetrc, WANDB_API_KEY: 'k' }).mode).toBe('online');
    expect(resolveTarget(wandb('auto'), noNetrc)).toMatchObject({ mode: 'offline', why: expect.stringMatching(/no WANDB_API_KEY/) });
    expect(resolveTarget(wandb('online'), noNetrc).mode).toBe('offline');
    expect(resolveTarget(wandb('auto'), { ...noNetrc, WANDB_API_KEY: 'k', WANDB_MODE: 'offline' }).mode).toBe('offline');
    expect(resolveTarget(wandb('auto'), { ...noNetrc, WANDB_API_KEY: 'k', WANDB_MODE: 'disabled' }).mode).toBe('disabled');
    expect(resolveTarget(wandb('offline'), { ...noNetrc, WANDB_API_KEY: 'k' }).mode).toBe('offline');
    expect(resolveTarget(wandb('disabled'), { ...noNetrc, WANDB_API_KEY: 'k' }).mode).toBe('disabled');
    expect(resolveTarget({}, { ...noNetrc, WANDB_API_KEY: 'k' }).mode).toBe('disabled');
    expect(resolveTarget({}, { ...noNetrc, WANDB_API_KEY: 'k', WANDB_PROJECT: 'from-agent' })).toMatchObject({ mode: 'online', project: 'from-agent' });
    expect(resolveTarget(wandb('auto'), { WANDB_BASE_URL: 'http://localhost:8080/' }).baseUrl).toBe('http://localhost:8080');
    expect(resolveTarget(wandb('auto'), {}).baseUrl).toBe('https://api.wandb.ai');
  });

  it('reads the key of the API host from netrc, falling back to default', async () => {
    const home = await tempDir();
    await writeFile(path.join(home, '.netrc'), 'machine api.wandb.ai login user password k1\nmachine other password k2\ndefault login x password k3\n');
    expect(netrcKey({ HOME: home }, 'api.wandb.ai')).toBe('k1');
    expect(netrcKey({ HOME: home }, 'other')).toBe('k2');
    expect(netrcKey({ HOME: home }, 'unknown.host')).toBe('k3');
    expect(netrcKey({ NETRC: path.join(home, 'missing') }, 'api.wandb.ai')).toBeNull();
  });

  it('never lets the key out through JSON, strings or inspection', () => {
    const credentials = new Credentials('secret-key-123');
    const text = [JSON.stringify({ credentials }), String(credentials), `${credentials}`, inspect({ credentials })].join(' ');
    expect(text).not.toContain('secret-key-123');
    expect(credentials.authorization()).toBe(`Basic ${Buffer.from('api:secret-key-123').toString('base64')}`);
  });
});
