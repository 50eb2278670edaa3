// Dataset traps from public bug reports (issue 20 B): each is a small input that `dataset check` used to
// pass silently, while the script's own loading (PIL convert("RGB"), CLIP truncation at 77 tokens, byte-
// for-byte file names, upscaling to `resolution`) trains on something else than the picture shows.
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { execa } from 'execa';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkDataset } from '../../harness/dataset/check.ts';
import { captionTokenizer, ESTIMATED_TOKENIZER } from '../../harness/dataset/clip-tokens.ts';
import { BIN, harness, REPO } from '../helpers/cli.ts';
import { MINIMAL } from '../helpers/experiment.ts';
import { tempDir } from '../helpers/tmp.ts';
import { cleanDataset, line, PREFIX, SIZE, writeMetadata } from './helpers.ts';

const codes = (list: { code: string }[]) => list.map((p) => p.code);

/** A PNG written chunk by chunk: sharp and pngjs cannot write 16-bit greyscale as it is stored. */
function png16Grey(width: number, height: number, value: number): Buffer {
  const crc = (buf: Buffer) => {
    let c = ~0;
    for (const b of buf) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 16; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc(height * (1 + width * 2));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows.writeUInt16BE(value, y * (1 + width * 2) + 1 + x * 2);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** A background remover's cut-out: an opaque subject in the middle, transparent (stored black) around it. */
async function cutout(file: string, channels: 2 | 4 = 4): Promise<void> {
  const data = Buffer.alloc(SIZE * SIZE * channels);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const i = (y * SIZE + x) * channels;
      const inside = x >= 16 && x < 48 && y >= 16 && y < 48;
      for (let c = 0; c < channels - 1; c++) data[i + c] = inside ? 200 : 0;
      data[i + channels - 1] = inside ? 255 : 0;
    }
  }
  await sharp(data, { raw: { width: SIZE, height: SIZE, channels } }).png().toFile(file);
}

describe('images the script converts into something else', () => {
  it('names an RGBA cut-out, its transparent share and the colour that trains; grey+alpha and palette ones too', async () => {
    const dir = await cleanDataset(5);
    await cutout(path.join(dir, '01.png'), 4);
    await cutout(path.join(dir, '02.png'), 2);
    // a palette PNG with a transparent entry (tRNS), as some editors save
    await sharp(path.join(dir, '01.png')).png({ palette: true }).toFile(path.join(dir, '03.tmp'));
    await rename(path.join(dir, '03.tmp'), path.join(dir, '03.png'));
    const result = await checkDataset(dir, { imageSize: SIZE, minImages: 2 });
    const problems = result.problems.filter((p) => p.code === 'transparency');
    expect(problems.map((p) => p.name).sort()).toEqual(['01.png', '02.png', '03.png']);
    expect(problems[0]!.message).toContain('transparent pixels (75% of the image, stored as black underneath)');
    expect(problems[0]!.message).toContain('`harness dataset prepare` flattens transparency on white');
    // an RGBA file whose alpha is opaque everywhere trains as it looks: nothing to say
    const opaque = await cleanDataset(5);
    await sharp(path.join(opaque, '01.png')).ensureAlpha().png().toFile(path.join(opaque, '01.tmp'));
    await rename(path.join(opaque, '01.tmp'), path.join(opaque, '01.png'));
    const clean = await checkDataset(opaque, { imageSize: SIZE, minImages: 2 });
    expect(codes([...clean.problems, ...clean.warnings])).not.toContain('transparency');
  });

  it('names a 16-bit greyscale PNG with what the script trains on, and prepare converts it right', async () => {
    const dir = await cleanDataset(5);
    await writeFile(path.join(dir, '02.png'), png16Grey(SIZE, SIZE, 30000));
    const result = await checkDataset(dir, { imageSize: SIZE, minImages: 2 });
    const grey = result.problems.find((p) => p.code === 'grey16');
    expect(grey?.name).toBe('02.png');
    expect(grey?.message).toContain('mean 255.0/255; the image\'s own mean is 116.7/255');
    // prepare writes an 8-bit sRGB PNG with the picture's own brightness (30000/257 ≈ 117)
    const src = path.join(await tempDir('harness-grey-'), 'photos');
    await mkdir(src);
    await writeFile(path.join(src, 'grey.png'), png16Grey(SIZE, SIZE, 30000));
    const out = path.join(path.dirname(src), 'data');
    const prepared = await harness(['dataset', 'prepare', src, out, '--size', String(SIZE)]);
    expect(prepared.exitCode, prepared.stderr).toBe(0);
    const { data, info } = await sharp(path.join(out, 'grey.png')).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    expect(data[0]).toBeGreaterThanOrEqual(116);
    expect(data[0]).toBeLessThanOrEqual(118);
    const recheck = await checkDataset(out, { imageSize: SIZE, minImages: 1 });
    expect(codes(recheck.problems)).not.toContain('grey16');
  });
});

/** A tiny CLIP vocabulary as transformers' files lay it out: every byte, its end-of-word form, a few merges. */
async function tinyTokenizer(modelDir: string): Promise<void> {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.map((b) => String.fromCharCode(b));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bytes.includes(b)) chars.push(String.fromCharCode(256 + n++));
  const vocab: Record<string, number> = {};
  for (const c of chars) vocab[c] = Object.keys(vocab).length;
  for (const c of chars) vocab[`${c}</w>`] = Object.keys(vocab).length;
  const merges = ['t o', 'to k</w>', 'b o', 'bo y</w>'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  vocab['<|startoftext|>'] = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = Object.keys(vocab).length;
  await mkdir(path.join(modelDir, 'tokenizer'), { recursive: true });
  await writeFile(path.join(modelDir, 'tokenizer', 'vocab.json'), JSON.stringify(vocab));
  await writeFile(path.join(modelDir, 'tokenizer', 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
}

describe('captions the script truncates or that hide a paste', () => {
  it('counts CLIP tokens with the tokenizer files when present, else says it estimates, and shows what is dropped', async () => {
    const model = path.join(await tempDir('harness-tok-'), 'model');
    await tinyTokenizer(model);
    const exact = await captionTokenizer(model);
    expect(exact.source).toBe(path.join(model, 'tokenizer'));
    // "tok" and "boy" are merges (one token each); "curly" is spelt out letter by letter (5 tokens)
    expect(exact.count('a photo of TOK boy').tokens).toBe(1 + 5 + 2 + 1 + 1);
    const thirty = `${PREFIX}${Array.from({ length: 30 }, () => 'curly').join(' ')}`;
    const counted = exact.count(thirty);
    expect(counted).toMatchObject({ exact: true });
    expect(counted.tokens).toBe(1 + 5 + 2 + 1 + 1 + 1 + 30 * 5);
    expect(counted.dropped).toMatch(/^curly curly/);
    // without the files: one token per word, said to be an estimate (30 words fit)
    const estimate = (await captionTokenizer(path.join(model, 'missing'))).count(thirty);
    expect(estimate).toMatchObject({ exact: false, dropped: null });
    expect(ESTIMATED_TOKENIZER.source).toBeNull();

    const dir = await cleanDataset(5);
    const words = Array.from({ length: 130 }, (_, i) => `word${String.fromCharCode(97 + (i % 26))}`).join(' ');
    await writeMetadata(dir, [line('01.png', `${PREFIX}${words}`), line('02.png', `${PREFIX}a boy\nwith curly hair in a field`), line('03.png'), line('04.png'), line('05.png')]);
    const withFiles = await checkDataset(dir, { imageSize: SIZE, tokenizer: exact });
    const long = withFiles.warnings.find((w) => w.code === 'caption-too-long')!;
    expect(long.line).toBe(1);
    expect(long.message).toMatch(/prompt has \d+ CLIP tokens, over the 75 that fit CLIP's 77/);
    expect(long.message).toContain('never trains on "');
    const guessed = await checkDataset(dir, { imageSize: SIZE });
    expect(guessed.warnings.find((w) => w.code === 'caption-too-long')!.message).toContain('(an estimate: no tokenizer files of the pinned model found');
    const newline = withFiles.warnings.find((w) => w.code === 'caption-control-character')!;
    expect(newline.line).toBe(2);
    expect(newline.message).toContain('a line break (\\n)');
  });

  it('takes the tokenizer from the experiment\'s pinned snapshot in the Hub cache (dataset check --experiment)', async () => {
    const root = await tempDir('harness-tok-cli-');
    const data = await cleanDataset(5, path.join(root, 'data'));
    await writeMetadata(data, ['01.png', '02.png', '03.png', '04.png', '05.png'].map((n, i) => line(n, i === 0 ? `${PREFIX}${Array.from({ length: 20 }, () => 'curly').join(' ')}` : undefined)));
    await writeFile(path.join(root, 'exp.yaml'), MINIMAL.replace('min_images: 2', `min_images: 2\n  image_size: ${SIZE}`).replace('resolution: 512', `resolution: ${SIZE}`));
    const hub = path.join(root, 'hub');
    const snapshot = path.join(hub, 'models--org--base', 'snapshots', '0123456789abcdef0123456789abcdef01234567');
    const estimated = await harness(['dataset', 'check', '--experiment', 'exp.yaml', '--json'], { cwd: root, env: { HF_HUB_CACHE: hub } });
    expect(JSON.parse(estimated.stdout).warnings.map((w: { code: string }) => w.code)).not.toContain('caption-too-long'); // 20 words fit the estimate
    await tinyTokenizer(snapshot);
    const exact = await harness(['dataset', 'check', '--experiment', 'exp.yaml', '--json'], { cwd: root, env: { HF_HUB_CACHE: hub } });
    const json = JSON.parse(exact.stdout);
    expect(json.settings.tokenizer).toBe(path.join(snapshot, 'tokenizer'));
    expect(json.warnings.find((w: { code: string }) => w.code === 'caption-too-long').message).toMatch(/prompt has 111 CLIP tokens/);
  });
});

describe('a resolution above the images', () => {
  it('warns with the factor in dataset check --experiment and in plan', async () => {
    const root = await tempDir('harness-upscale-');
    await cleanDataset(5, path.join(root, 'data'));
    // dataset.image_size says 64 and the res-128 variant trains at 128: every image is upscaled 2×
    await writeFile(path.join(root, 'exp.yaml'), MINIMAL.replace('min_images: 2', `min_images: 2\n  image_size: ${SIZE}`).replace('resolution: 512', `resolution: ${SIZE}`).replace('variants:\n', 'variants:\n  res-128:\n    resolution: 128\n'));
    const check = await harness(['dataset', 'check', '--experiment', 'exp.yaml'], { cwd: root });
    expect(check.exitCode).toBe(0);
    expect(check.stdout).toContain('res-128 trains at resolution 128, but 5 of 5 images are smaller (the smallest 64×64): the script upscales them up to 2×');
    const plan = await harness(['plan', 'exp.yaml'], { cwd: root });
    expect(plan.exitCode).toBe(0);
    expect(plan.stderr).toContain('res-128: resolution 128 is above dataset.image_size 64: every image is upscaled 2×');
    // the experiment expects 128 px images but the folder holds 64 px ones (prepare --size 64): plan reads the images
    await writeFile(path.join(root, 'exp2.yaml'), MINIMAL.replace('min_images: 2', 'min_images: 2\n  image_size: 128').replace('resolution: 512', 'resolution: 128'));
    const plan2 = await harness(['plan', 'exp2.yaml'], { cwd: root });
    expect(plan2.stderr).toMatch(/baseline: resolution 128 is above the dataset's images \(the smallest, \d+\.png, is 64 px\): the script upscales them up to 2×/);
  });
});

describe('file names that print alike', () => {
  it('says a metadata name and a file differ only in Unicode normalisation (NFC line, NFD file), in case, or in spaces', async () => {
    const dir = await cleanDataset(4);
    const nfc = 'Jos\u00e9.png';
    const nfd = 'Jose\u0301.png';
    await rename(path.join(dir, '01.png'), path.join(dir, nfd));
    await rename(path.join(dir, '02.png'), path.join(dir, 'IMG_02.png'));
    await writeMetadata(dir, [line('03.png'), line('04.png '), line(nfc), line('img_02.png')].sort());
    const result = await checkDataset(dir, { imageSize: SIZE, minImages: 2 });
    const lookalikes = result.problems.filter((p) => p.code === 'name-lookalike').map((p) => p.message);
    expect(lookalikes.some((m) => m.includes(`"${nfc}" and the file "${nfd}" differ only in Unicode normalisation (the line is NFC, composed accents; the file NFD, decomposed accents as macOS writes them)`))).toBe(true);
    expect(lookalikes.some((m) => m.includes('"img_02.png" and the file "IMG_02.png" differ only in upper and lower case'))).toBe(true);
    expect(lookalikes.some((m) => m.includes('"04.png " and the file "04.png" differ only in spaces at the start or end'))).toBe(true);
    // one problem each, not also "does not exist" and "has no line" with two names that print the same
    expect(codes(result.problems)).not.toContain('metadata-missing-file');
    expect(codes(result.problems)).not.toContain('image-without-metadata');
  });
});

describe('dataset prepare', () => {
  it('says a word on Ctrl-C, keeps what it finished, and the same command resumes', async () => {
    const root = await tempDir('harness-prepare-int-');
    const src = path.join(root, 'photos');
    await mkdir(src);
    const face = path.join(REPO, 'tests/fixtures/faces/grace_hopper.jpg');
    for (let i = 0; i < 40; i++) await sharp(face).resize(900 + i, 1100).jpeg().toFile(path.join(src, `p${String(i).padStart(2, '0')}.jpg`));
    const dst = path.join(root, 'data');
    const child = execa(process.execPath, [BIN, 'dataset', 'prepare', src, dst, '--size', '512'], { cwd: root, env: { NO_COLOR: '1' }, reject: false });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await readdir(dst).catch(() => [] as string[])).filter((n) => n.endsWith('.png')).length < 2) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const stopped = await child;
    expect(stopped.exitCode).toBe(130);
    expect(stopped.stderr).toContain('SIGINT: finishing the photo in hand, then stopping');
    expect(stopped.stderr).toMatch(/dataset prepare interrupted after \d+ of 40 photos/);
    expect(stopped.stderr).toContain('run the same command again to resume');
    const manifest = JSON.parse(await readFile(path.join(dst, '.harness-prepare.json'), 'utf8'));
    expect(manifest.complete).toBe(false);
    const kept = manifest.files.filter((f: { status: string }) => f.status === 'written').length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(40);
    // no --force needed: the same command resumes and keeps the finished photos
    const resumed = await harness(['dataset', 'prepare', src, dst, '--size', '512', '--json'], { cwd: root, timeout: 120_000 });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const json = JSON.parse(resumed.stdout);
    expect(json.counts.written).toBe(40);
    expect(json.resumed).toBe(kept);
    // another size into the same folder is not a resume
    const other = await harness(['dataset', 'prepare', src, dst, '--size', '256'], { cwd: root });
    expect(other.exitCode).toBe(2);
  }, 180_000);
});
