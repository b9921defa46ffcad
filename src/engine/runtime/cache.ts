// Sessions shared by model identity + options: a model file is identified by its resolved path,
// size and modification time (a rewritten file gets a new session); bytes by the array object.

import { statSync } from 'node:fs';
import path from 'node:path';

const byteIds = new WeakMap<Uint8Array, number>();
let nextByteId = 1;

export function modelIdentity(model: Uint8Array | string): string {
  if (typeof model === 'string') {
    const resolved = path.resolve(model);
    const s = statSync(resolved, { throwIfNoEntry: false });
    return `file:${resolved}:${s?.size ?? -1}:${s?.mtimeMs ?? -1}`;
  }
  let id = byteIds.get(model);
  if (id === undefined) byteIds.set(model, (id = nextByteId++));
  return `bytes:${id}`;
}

/** A keyed cache of in-flight or open values; a failed open is not cached. */
export class SessionCache<T extends { release(): Promise<void> }> {
  private readonly entries = new Map<string, Promise<T>>();

  get size(): number {
    return this.entries.size;
  }

  getOrOpen(key: string, open: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = open();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }

  /** Drops one entry and releases its session. */
  async evict(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    await (await entry).release();
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    const results = await Promise.allSettled(all);
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.release() : undefined)));
  }
}
