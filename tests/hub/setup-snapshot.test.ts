import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubServer } from '../fixtures/hub-server/server.ts';
import { harness } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { copyExperiment, hubEnv, startHub } from './helpers.ts';

let hub: HubServer;
let baseCommit: string;
let scripts: Server;
const SCRIPT = Buffer.from('# a stand-in for the diffusers training script\n');

beforeAll(async () => {
  ({ hub, baseCommit } = await startHub());
  scripts = createServer((_req, res) => res.end(SCRIPT));
  await new Promise<void>((resolve) => scripts.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await hub.close();
  await new Promise((resolve) => scripts.close(resolve));
});

describe('harness setup', () => {
  it('downloads the missing pinned snapshots through the Hub, and reports them present afterwards', async () => {
    const dir = await tempDir();
    const file = await copyExperiment(dir);
    const home = path.join(dir, 'hf');
    const env = {
      ...hubEnv(hub, home),
      HARNESS_SCRIPT_BASE_URL: `http://127.0.0.1:${(scripts.address() as AddressInfo).port}`,
      XDG_CACHE_HOME: path.join(dir, 'cache'),
      HARNESS_PYTHON: 'python3',
    };
    expect((await harness(['pin', file], { cwd: dir, env })).exitCode).toBe(0);
    // the stand-in script's hash as the pin, so the download is accepted
    const sha = createHash('sha256').update(SCRIPT).digest('hex');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/sha256: [0-9a-f]{64}/, `sha256: ${sha}`));

    const reportOnly = await harness(['setup', file, '--no-snapshot', '--json'], { cwd: dir, env });
    expect(JSON.parse(reportOnly.stdout).models.map((m: { exists: boolean }) => m.exists)).toEqual([false, false]);

    const result = await harness(['setup', file, '--json'], { cwd: dir, env });
    const setup = JSON.parse(result.stdout);
    expect(setup.models.map((m: { role: string; exists: boolean }) => [m.role, m.exists])).toEqual([['model', true], ['vae', true]]);
    expect(result.stderr).toMatch(/snapshot stabilityai\/stable-diffusion-xl-base-1\.0: /);
    // while a file downloads, a line per tenth of the repo's bytes (lines, not a bar: notebooks and logs read them)
    expect(result.stderr).toMatch(/snapshot stabilityai\/stable-diffusion-xl-base-1\.0: 100 % \([\d.]+ of [\d.]+ GiB\), downloading \S+/);
    expect(result.stderr).not.toContain('\r');
    const unet = path.join(home, 'hub', 'models--stabilityai--stable-diffusion-xl-base-1.0', 'snapshots', baseCommit, 'unet', 'config.json');
    expect((await stat(unet)).isFile()).toBe(true);
  });
});
