// A stable, seedable 32-bit string hash for consistent hashing: FNV-1a over UTF-16 code units
// followed by MurmurHash3's fmix32 finalizer for avalanche. Same input, same output, everywhere;
// placements are not byte-compatible with Envoy's xxHash64 (no mesh component needs them to be).

/** Hash of `text` in [0, 2^32). Different seeds give independent hashes (Maglev needs two). */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h = Math.imul(h ^ (c & 0xff), 0x01000193);
    if (c > 0xff) h = Math.imul(h ^ (c >>> 8), 0x01000193);
  }
  // fmix32 (MurmurHash3): FNV-1a alone mixes the last bytes poorly into the high bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
