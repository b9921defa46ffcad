#!/usr/bin/env node
// Renders build/icon.svg to the PNG icons electron-builder uses: build/icon.png (512 px; the
// Windows .ico and macOS .icns are derived from it) and build/icons/<size>x<size>.png for Linux.
// Run: node build/generate-icons.mjs
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const here = import.meta.dirname;
const svg = readFileSync(join(here, 'icon.svg'));
const LINUX_SIZES = [16, 32, 48, 64, 128, 256, 512];

// Written under a temporary name and renamed, so an interrupted run never leaves a half PNG.
async function render(size, file) {
  const temp = `${file}.tmp`;
  await sharp(svg, { density: Math.ceil((72 * size) / 512) }).resize(size, size).png({ compressionLevel: 9 }).toFile(temp);
  renameSync(temp, file);
}

mkdirSync(join(here, 'icons'), { recursive: true });
await render(512, join(here, 'icon.png'));
for (const size of LINUX_SIZES) await render(size, join(here, 'icons', `${size}x${size}.png`));
console.log(`wrote build/icon.png and ${LINUX_SIZES.length} Linux icons`);
