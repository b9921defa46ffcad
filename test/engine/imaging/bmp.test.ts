import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBmp } from '../../../src/engine/imaging/bmp';
import { decodeImage } from '../../../src/engine/imaging/decode';
import { isUserError } from '../../../src/shared/errors';
import { Rng } from '../../../src/shared/random';
import { writeBmp } from '../../fixtures/bmp-writer';

/** Builds a BMP with a 40-byte info header from hand-written parts (little-endian). */
function bmp(opts: { width: number; height: number; bpp: number; compression?: number; colorsUsed?: number; extra?: number[]; palette?: number[]; pixels: number[] }): Uint8Array {
  const extra = opts.extra ?? [];
  const palette = opts.palette ?? [];
  const offset = 14 + 40 + extra.length + palette.length;
  const size = offset + opts.pixels.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  v.setUint32(2, size, true);
  v.setUint32(10, offset, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, opts.width, true);
  v.setInt32(22, opts.height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, opts.bpp, true);
  v.setUint32(30, opts.compression ?? 0, true);
  v.setUint32(46, opts.colorsUsed ?? 0, true);
  out.set(extra, 54);
  out.set(palette, 54 + extra.length);
  out.set(opts.pixels, offset);
  return out;
}

// The 2x2 picture used below:  red   green
//                              blue  white
const RGB_2X2 = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];

test('24-bit bottom-up: rows are stored last row first, pixels as B,G,R, rows padded to 4 bytes', () => {
  const pixels = [255, 0, 0, 255, 255, 255, 0, 0, /* bottom row: blue, white, 2 padding */ 0, 0, 255, 0, 255, 0, 0, 0 /* top: red, green */];
  const img = decodeBmp(bmp({ width: 2, height: 2, bpp: 24, pixels }));
  assert.deepEqual({ w: img.width, h: img.height, c: img.channels }, { w: 2, h: 2, c: 3 });
  assert.deepEqual(Array.from(img.data), RGB_2X2);
});

test('24-bit top-down (negative height) stores the first row first', () => {
  const pixels = [0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0, 255, 255, 255, 0, 0];
  assert.deepEqual(Array.from(decodeBmp(bmp({ width: 2, height: -2, bpp: 24, pixels })).data), RGB_2X2);
});

test('32-bit BGRX drops the fourth byte; 32-bit bit fields follow the masks', () => {
  const bgrx = [255, 0, 0, 9, 255, 255, 255, 9, 0, 0, 255, 9, 0, 255, 0, 9];
  assert.deepEqual(Array.from(decodeBmp(bmp({ width: 2, height: 2, bpp: 32, pixels: bgrx })).data), RGB_2X2);
  // Bit fields with the channels in an unusual order: R in the low byte, G next, B next, A top.
  const masks = [0xff, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0xff, 0];
  const rgba = [0, 0, 255, 7, 255, 255, 255, 7, 255, 0, 0, 7, 0, 255, 0, 7];
  assert.deepEqual(Array.from(decodeBmp(bmp({ width: 2, height: 2, bpp: 32, compression: 3, extra: masks, pixels: rgba })).data), RGB_2X2);
});

test('8-bit paletted: colour palettes give RGB, all-grey palettes give one channel', () => {
  const colour = [0, 0, 255, 0, /* 0 red */ 0, 255, 0, 0, /* 1 green */ 255, 0, 0, 0, /* 2 blue */ 255, 255, 255, 0 /* 3 white */];
  // bottom row: indices 2,3 + 2 padding; top row: 0,1 + padding
  const img = decodeBmp(bmp({ width: 2, height: 2, bpp: 8, colorsUsed: 4, palette: colour, pixels: [2, 3, 0, 0, 0, 1, 0, 0] }));
  assert.equal(img.channels, 3);
  assert.deepEqual(Array.from(img.data), RGB_2X2);
  const grey = [10, 10, 10, 0, 200, 200, 200, 0];
  const g = decodeBmp(bmp({ width: 3, height: 1, bpp: 8, colorsUsed: 2, palette: grey, pixels: [1, 0, 1, 0] }));
  assert.equal(g.channels, 1);
  assert.deepEqual(Array.from(g.data), [200, 10, 200]);
});

test('1-bit pixels are packed from the high bit, across byte boundaries', () => {
  const palette = [0, 0, 0, 0, 255, 255, 255, 0];
  // 10 pixels: 1 0 1 1 0 0 0 1 | 1 0  -> bytes 0b10110001, 0b10000000, then 2 padding bytes
  const img = decodeBmp(bmp({ width: 10, height: 1, bpp: 1, colorsUsed: 2, palette, pixels: [0b10110001, 0b10000000, 0, 0] }));
  assert.deepEqual(Array.from(img.data), [255, 0, 255, 255, 0, 0, 0, 255, 255, 0]);
});

test('random images survive a round trip through every supported writer layout', () => {
  const rng = new Rng(7);
  for (const [width, height] of [[1, 1], [3, 5], [17, 4]] as const) {
    const rgb = new Uint8Array(width * height * 3).map(() => rng.int(256));
    const gray = new Uint8Array(width * height).map(() => rng.int(256));
    for (const topDown of [false, true]) {
      for (const bpp of [24, 32] as const) {
        const img = decodeBmp(writeBmp(width, height, 3, rgb, { bpp, topDown }));
        assert.deepEqual(img.data, rgb, `${width}x${height} ${bpp}-bit topDown=${topDown}`);
      }
      const g = decodeBmp(writeBmp(width, height, 1, gray, { bpp: 8, topDown }));
      assert.equal(g.channels, 1);
      assert.deepEqual(g.data, gray);
    }
  }
});

test('damaged and unsupported BMPs fail with the file path and the reason', async () => {
  const good = writeBmp(8, 8, 3, new Uint8Array(8 * 8 * 3), { bpp: 24 });
  const path = 'C:\\scans\\déchets 검사\\part 1.bmp';
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.length - 10), /truncated: the pixel data needs 246 bytes, the file has 236/],
    [good.subarray(0, 30), /truncated: the info header/],
    [bmp({ width: 2, height: 2, bpp: 8, compression: 1, pixels: [0, 0] }), /RLE8 BMP files are not supported/],
    [bmp({ width: 2, height: 2, bpp: 16, pixels: new Array(8).fill(0) }), /16-bit BMP files are not supported/],
    [bmp({ width: 0, height: 2, bpp: 24, pixels: [] }), /bad image size 0x2/],
    [bmp({ width: 1, height: 1, bpp: 8, colorsUsed: 2, palette: [0, 0, 0, 0, 9, 9, 9, 0], pixels: [5, 0, 0, 0] }), /palette entry 5, but the palette has 2 colours/],
  ];
  for (const [bytes, reason] of cases) {
    await assert.rejects(decodeImage(bytes, path), (e: unknown) => {
      assert.ok(isUserError(e), String(e));
      assert.equal(e.code, 'IMAGE_UNREADABLE');
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      assert.match(e.message, reason);
      return true;
    });
  }
});
