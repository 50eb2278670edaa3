// Long waits and Ctrl-C (issue 20 A8): a command that waits says on what; a command stopped by Ctrl-C says
// what it stopped and how to go on, and exits 130.
import { execa, type ResultPromise } from 'execa';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, harness, REPO } from '../helpers/cli.ts';
import { MINIMAL, UNPINNED_MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';


function start(args: string[], cwd: string, env: Record<string, string> = {}): { child: ResultPromise; stderr: () => string } {
  const child = execa(process.execPath, [BIN, ...args], { cwd, env: { NO_COLOR: '1', ...env }, reject: false });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr };
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Hub stand-in that accepts connections and never answers: a network that hangs. */
const sockets = new Set<net.Socket>();
const silent = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
const silentUrl = new Promise<string>((resolve) => silent.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`)));
afterAll(() => {
  for (const socket of sockets) socket.destroy();
  return new Promise<void>((resolve) => silent.close(() => resolve()));
});

describe('pin', () => {
  it('says each retry when the Hub does not answer, then exits 3', async () => {
    const cwd = await tempDir('harness-waits-');
    await writeFile(path.join(cwd, 'exp.yaml'), UNPINNED_MINIMAL);
    const r = await harness(['pin', 'exp.yaml', '--dry-run'], { cwd, env: { HF_ENDPOINT: 'http://127.0.0.1:9', HARNESS_HUB_RETRIES: '2', HARNESS_HUB_RETRY_BASE_MS: '50', HF_TOKEN: undefined, HOME: cwd } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/no answer from 127\.0\.0\.1:9 \(.+\); try 2 in \d+ s/);
    expect(r.stderr).toMatch(/no answer from 127\.0\.0\.1:9 \(.+\); try 3 in \d+ s/);
  });

  it('says what it waits on when the Hub hangs, and a word on Ctrl-C (exit 130)', async () => {
    const cwd = await tempDir('harness-waits-');
    await writeFile(path.join(cwd, 'exp.yaml'), UNPINNED_MINIMAL);
    const run = start(['pin', 'exp.yaml', '--dry-run'], cwd, { HF_ENDPOINT: await silentUrl, HOME: cwd });
    await until('the waiting line', () => run.stderr().includes('waiting for'), 20_000);
    expect(run.stderr()).toMatch(/waiting for http:\/\/127\.0\.0\.1:\d+ to resolve org\/base@main/);
    run.child.kill('SIGINT');
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    expect(run.stderr()).toContain('SIGINT: stopping pin');
    expect(run.stderr()).toContain('error pin interrupted');
    expect(run.stderr()).toContain('exp.yaml is replaced whole or not at all');
  }, 60_000);
});

describe('score', () => {
  it('shows progress per image, and Ctrl-C says how far it got (exit 130)', async () => {
    const cwd = await tempDir('harness-waits-');
    const faces = path.join(REPO, 'tests/fixtures/faces');
    await mkdir(path.join(cwd, 'ref'));
    await mkdir(path.join(cwd, 'images'));
    for (const face of ['astronaut.jpg', 'grace_hopper.jpg', 'camera.jpg', 'coffee.jpg']) {
      await copyFile(path.join(faces, face), path.join(cwd, 'ref', face));
      for (let i = 0; i < 6; i++) await copyFile(path.join(faces, face), path.join(cwd, 'images', `${i}-${face}`));
    }
    const run = start(['score', 'images', '--reference', 'ref', '--workers', '1'], cwd);
    await until('the first progress line', () => /reference 1\/4 /.test(run.stderr()), 120_000);
    run.child.kill('SIGINT');
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    expect(run.stderr()).toContain('SIGINT: stopping the scorer');
    expect(run.stderr()).toMatch(/scoring interrupted after \d+ of (4 reference photos|24 images)/);
    expect(run.stderr()).toContain('add --cache DIR to keep finished images next time');
  }, 180_000);
});

describe('a command without its own stop', () => {
  it('pull says what it waits on, and Ctrl-C gets a word instead of a silent 130', async () => {
    const cwd = await tempDir('harness-waits-');
    await writeFile(path.join(cwd, 'exp.yaml'), MINIMAL);
    const run = start(['pull', 'exp.yaml', '--from', 'me/runs'], cwd, { HF_ENDPOINT: await silentUrl, HOME: cwd });
    await until('the waiting line', () => run.stderr().includes('waiting for'), 20_000);
    expect(run.stderr()).toMatch(/waiting for http:\/\/127\.0\.0\.1:\d+: the files of dataset me\/runs/);
    run.child.kill('SIGINT');
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    expect(run.stderr()).toContain('SIGINT: harness pull interrupted; files are written whole or not at all, so the same command again is safe');
  }, 60_000);
});
