// A sorted set of strings with prefix ranges: the ordered index behind KV listings (Consul keeps
// keys in a radix tree). Keys live in sorted chunks of at most CHUNK strings (a one-level B+tree,
// as Python's SortedList), so an insert moves at most CHUNK strings, not the whole set:
// 100k random inserts into one flat array took 17 s here, in chunks well under a second.

const CHUNK = 512;

/** Strings in ascending code-unit order, each once. */
export class SortedKeys {
  /** Non-empty sorted chunks; every key of chunk i is below every key of chunk i + 1. */
  private readonly chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `key` if absent. */
  add(key: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.count = 1;
      return;
    }
    const c = Math.min(this.chunkFor(key), this.chunks.length - 1);
    const chunk = this.chunks[c] ?? [];
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) return;
    chunk.splice(i, 0, key);
    this.count += 1;
    if (chunk.length > 2 * CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK));
  }

  /** Removes `key` if present. */
  delete(key: string): void {
    const c = this.chunkFor(key);
    const chunk = this.chunks[c];
    if (chunk === undefined) return;
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) return;
    chunk.splice(i, 1);
    this.count -= 1;
    if (chunk.length === 0) this.chunks.splice(c, 1);
  }

  /** The keys that start with `prefix`, ascending. */
  withPrefix(prefix: string): string[] {
    const out: string[] = [];
    const first = this.chunkFor(prefix);
    for (let c = first; c < this.chunks.length; c++) {
      const chunk = this.chunks[c] ?? [];
      for (let i = c === first ? lowerBound(chunk, prefix) : 0; i < chunk.length; i++) {
        const key = chunk[i] ?? "";
        if (!key.startsWith(prefix)) return out;
        out.push(key);
      }
    }
    return out;
  }

  /** The first chunk whose last key is >= `key` (chunks.length when none). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid] ?? [];
      if ((chunk[chunk.length - 1] ?? "") < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** First position in sorted `keys` whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] ?? "") < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
