// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as etcd's WAL and ext4
// use it to detect torn and corrupted log records.

const table = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** The CRC-32C of `bytes[from, to)`, continuing from `seed` (0 for a fresh checksum). */
export function crc32c(bytes: Uint8Array, from = 0, to = bytes.length, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = from; i < to; i++) c = (table[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
