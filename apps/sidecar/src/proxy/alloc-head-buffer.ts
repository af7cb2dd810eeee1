// Buffers for the heads the proxy writes (a request head upstream, a response head — with a
// small body — to the client): carved from 64 KiB slabs, as Buffer.allocUnsafe carves small
// buffers from Node's 8 KiB pool. Two heads per request made the 8 KiB pool's refill (a new
// ArrayBuffer every ~9 requests) ~1 % of the sidecar's CPU (bench/proxy/README.md).

const slabBytes = 64 * 1024;
/** Larger buffers get their own allocation: a slab holds at least four. */
const maxCarvedBytes = slabBytes / 4;

let slab = new ArrayBuffer(0);
let offset = 0;

/**
 * An uninitialised buffer of `size` bytes. Its slab lives as long as any buffer carved from it;
 * the bytes are never handed out twice.
 */
export function allocHeadBuffer(size: number): Buffer {
  if (size > maxCarvedBytes) return Buffer.allocUnsafe(size);
  if (offset + size > slab.byteLength) {
    slab = Buffer.allocUnsafeSlow(slabBytes).buffer as ArrayBuffer;
    offset = 0;
  }
  const out = Buffer.from(slab, offset, size);
  // Keep carved buffers 8-byte aligned, as Node's pool does.
  offset = (offset + size + 7) & ~7;
  return out;
}
