// Grid thumbnails: made once per image content with sharp (longest side THUMB_SIZE, WebP), stored
// as ordinary blobs so the app protocol serves them like any other blob, and remembered in an
// index file <project>/cache/thumbnails.json (image blob hash -> thumbnail blob hash). The index
// is a cache: a lost or corrupt one only means thumbnails are made again (same bytes, same hash).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Project } from '../store/project';
import { writeFileAtomic } from '../api/atomic-file';

/** Longest side in pixels: sharp at 2x the grid cell's CSS size on a 1.25-scale screen. */
export const THUMB_SIZE = 192;
export const THUMB_MEDIA_TYPE = 'image/webp';
const INDEX_FILE = join('cache', 'thumbnails.json');
/** Images decoded at once (sharp runs on libuv's pool; more only queues). */
const CONCURRENCY = 4;
const HASH = /^[0-9a-f]{64}$/;

export interface ThumbnailCache {
  /** Thumbnail hashes for the images' blob hashes, made where missing. */
  forBlobs(hashes: readonly string[]): Promise<Map<string, string>>;
  /** Writes the index now (it is also written after every batch that made thumbnails). */
  flush(): void;
}

export async function makeThumbnail(bytes: Uint8Array): Promise<Buffer> {
  return sharp(bytes, { failOn: 'none' })
    .rotate()
    .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 78 })
    .toBuffer();
}

function loadIndex(file: string): Map<string, string> {
  const index = new Map<string, string>();
  if (!existsSync(file)) return index;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') {
      for (const [image, thumb] of Object.entries(parsed)) if (HASH.test(image) && typeof thumb === 'string' && HASH.test(thumb)) index.set(image, thumb);
    }
  } catch {
    // a corrupt cache is rebuilt on demand
  }
  return index;
}

export function createThumbnailCache(project: Project): ThumbnailCache {
  const file = join(project.dir, INDEX_FILE);
  const index = loadIndex(file);
  // Work in flight per image hash, so two grid requests for the same image make it once.
  const pending = new Map<string, Promise<string>>();
  let dirty = false;

  async function make(imageHash: string): Promise<string> {
    const thumb = await makeThumbnail(project.blobs.read(imageHash));
    const hash = await project.blobs.writeFile(thumb);
    project.blobs.record(hash, thumb.length, THUMB_MEDIA_TYPE);
    index.set(imageHash, hash);
    dirty = true;
    return hash;
  }

  function flush(): void {
    if (!dirty) return;
    writeFileAtomic(file, JSON.stringify(Object.fromEntries(index)));
    dirty = false;
  }

  return {
    flush,
    async forBlobs(hashes) {
      const out = new Map<string, string>();
      const missing: string[] = [];
      for (const h of new Set(hashes)) {
        const known = index.get(h);
        // a thumbnail whose blob file went missing (a cleaned folder) is made again
        if (known !== undefined && project.blobs.has(known)) out.set(h, known);
        else missing.push(h);
      }
      let next = 0;
      const worker = async () => {
        while (next < missing.length) {
          const h = missing[next++]!;
          let work = pending.get(h);
          if (!work) {
            work = make(h).finally(() => pending.delete(h));
            pending.set(h, work);
          }
          try {
            out.set(h, await work);
          } catch {
            // an image sharp cannot shrink gets no thumbnail; the grid shows its placeholder
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, missing.length) }, worker));
      flush();
      return out;
    },
  };
}
