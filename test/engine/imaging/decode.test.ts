import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage } from '../../../src/engine/imaging/decode';
import { encodePng } from '../../../src/engine/imaging/encode';
import { pngStructureProblem } from '../../../src/engine/imaging/png-structure';
import { isUserError } from '../../../src/shared/errors';
import { Rng } from '../../../src/shared/random';
import { writePng } from '../../fixtures/png-writer';

const PATH = '/data/déchets 검사/img 01.png';

function randomBytes(n: number, seed: number, max = 256): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(max));
}

async function expectUnreadable(bytes: Uint8Array, reason: RegExp): Promise<void> {
  await assert.rejects(decodeImage(bytes, PATH), (e: unknown) => {
    assert.ok(isUserError(e), String(e));
    assert.ok(e.message.startsWith(`${PATH}: `), e.message);
    assert.match(e.message, reason);
    return true;
  });
}

test('8-bit gray and RGB PNGs decode to exactly the samples written', async () => {
  const gray = randomBytes(7 * 5, 1);
  const g = await decodeImage(writePng(7, 5, 1, 8, gray), PATH);
  assert.deepEqual({ w: g.width, h: g.height, c: g.channels, f: g.format, d: g.sourceBitDepth }, { w: 7, h: 5, c: 1, f: 'png', d: 8 });
  assert.deepEqual(Array.from(g.data), gray);
  const rgb = randomBytes(6 * 4 * 3, 2);
  const c = await decodeImage(writePng(6, 4, 3, 8, rgb), PATH);
  assert.equal(c.channels, 3);
  assert.deepEqual(Array.from(c.data), rgb);
});

test('16-bit PNGs become 8-bit: each sample within 1 of v / 257', async () => {
  const samples = [0, 1, 128, 257, 1000, 32767, 32768, 50000, 65278, 65535, ...randomBytes(30, 3, 65536)];
  for (const channels of [1, 3] as const) {
    const n = samples.length - (samples.length % channels);
    const width = n / channels;
    const img = await decodeImage(writePng(width, 1, channels, 16, samples.slice(0, n)), PATH);
    assert.equal(img.sourceBitDepth, 16);
    assert.equal(img.channels, channels);
    Array.from(img.data).forEach((v, i) => assert.ok(Math.abs(v - samples[i]! / 257) <= 1, `sample ${samples[i]} -> ${v}`));
    // the end points are exact
    assert.equal(img.data[0], 0);
  }
});

test('alpha is dropped, keeping the stored colour values', async () => {
  const ga = [10, 0, 20, 255, 30, 128]; // gray, alpha pairs
  const g = await decodeImage(writePng(3, 1, 2, 8, ga), PATH);
  assert.equal(g.hadAlpha, true);
  assert.equal(g.channels, 1);
  assert.deepEqual(Array.from(g.data), [10, 20, 30]);
  const rgba = [1, 2, 3, 0, 4, 5, 6, 255];
  const c = await decodeImage(writePng(2, 1, 4, 8, rgba), PATH);
  assert.equal(c.channels, 3);
  assert.deepEqual(Array.from(c.data), [1, 2, 3, 4, 5, 6]);
});

test('JPEG (gray and colour) and TIFF decode; a PNG re-encode round trip is lossless', async () => {
  const width = 32;
  const height = 24;
  const rgb = Uint8Array.from(randomBytes(width * height * 3, 4));
  const raw = { raw: { width, height, channels: 3 as const } };
  const tiff = await decodeImage(await sharp(rgb, raw).tiff({ compression: 'lzw' }).toBuffer(), PATH);
  assert.equal(tiff.format, 'tiff');
  assert.deepEqual(tiff.data, rgb);
  // JPEG is lossy: a smooth gradient survives within a few levels.
  const smooth = new Uint8Array(width * height).map((_, i) => (i % width) * 8);
  const jpeg = await decodeImage(await sharp(smooth, { raw: { width, height, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 95 }).toBuffer(), PATH);
  assert.equal(jpeg.format, 'jpeg');
  assert.equal(jpeg.channels, 1);
  jpeg.data.forEach((v, i) => assert.ok(Math.abs(v - smooth[i]!) <= 6, `pixel ${i}: ${v} vs ${smooth[i]}`));
  const colourJpeg = await decodeImage(await sharp(rgb, raw).jpeg().toBuffer(), PATH);
  assert.equal(colourJpeg.channels, 3);
  const again = await decodeImage(await encodePng({ width, height, channels: 3, data: rgb }), PATH);
  assert.deepEqual(again.data, rgb);
});

test('PNG encoding is deterministic and keeps gray images 8-bit single-channel', async () => {
  const img = { width: 16, height: 16, channels: 1 as const, data: Uint8Array.from(randomBytes(256, 5)) };
  const png = await encodePng(img);
  assert.deepEqual(png, await encodePng(img));
  // IHDR: bit depth at byte 24, colour type at byte 25 (0 = gray)
  assert.equal(png[24], 8);
  assert.equal(png[25], 0);
  assert.deepEqual((await decodeImage(png, PATH)).data, img.data);
});

test('truncated PNGs fail, including cuts that libspng alone would decode', async () => {
  const width = 64;
  const height = 48;
  const pattern = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) & 255);
  const png = await encodePng({ width, height, channels: 3, data: pattern });
  assert.equal(pngStructureProblem(png), null);
  const acceptedBySharp: number[] = [];
  for (let keep = Math.floor(png.length * 0.3); keep < png.length; keep += Math.max(1, Math.floor(png.length / 200))) {
    const cut = png.subarray(0, keep);
    await expectUnreadable(cut, /truncated/);
    const sharpAlone = await sharp(cut, { failOn: 'truncated' }).raw().toBuffer().then(() => true, () => false);
    if (sharpAlone) acceptedBySharp.push(keep);
  }
  await expectUnreadable(png.subarray(0, png.length - 1), /truncated/);
  // Why the structure check exists: some of these cuts decode "successfully" in sharp alone.
  assert.ok(acceptedBySharp.length > 0, 'expected sharp to accept at least one truncated PNG');
});

test('a PNG with damaged pixel data fails with a CRC message', async () => {
  const png = Buffer.from(await encodePng({ width: 32, height: 32, channels: 1, data: Uint8Array.from(randomBytes(1024, 7)) }));
  png[png.length - 40] ^= 0xff; // inside IDAT
  await expectUnreadable(png, /IDAT.*damaged \(CRC mismatch\)/);
});

test('truncated JPEG and TIFF files fail with the path and the decoder reason', async () => {
  const rgb = Uint8Array.from(randomBytes(64 * 48 * 3, 8));
  const raw = { raw: { width: 64, height: 48, channels: 3 as const } };
  const jpeg = await sharp(rgb, raw).jpeg().toBuffer();
  for (const keep of [0.5, 0.95, (jpeg.length - 2) / jpeg.length]) {
    await expectUnreadable(jpeg.subarray(0, Math.floor(jpeg.length * keep)), /premature end|truncated|corrupt/i);
  }
  const tiff = await sharp(rgb, raw).tiff().toBuffer();
  await expectUnreadable(tiff.subarray(0, Math.floor(tiff.length * 0.5)), /.+/);
});

test('empty and unknown files are refused with distinct codes', async () => {
  await assert.rejects(decodeImage(new Uint8Array(0), PATH), (e: unknown) => isUserError(e) && e.code === 'IMAGE_UNREADABLE' && /empty \(0 bytes\)/.test(e.message));
  await assert.rejects(decodeImage(new TextEncoder().encode('hello, not an image'), PATH), (e: unknown) => isUserError(e) && e.code === 'IMAGE_UNSUPPORTED' && e.message.includes(PATH));
});
