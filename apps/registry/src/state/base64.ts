// Base64 for KV values inside commands and snapshots (JSON-safe), without node:buffer so the state
// machine stays pure. Standard alphabet with padding (RFC 4648 §4), as Consul's JSON uses.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Sextet → char code, and char code → sextet ("=" and anything else → 0; input is validated first). */
const CODES = new TextEncoder().encode(ALPHABET);
const SEXTETS = new Uint8Array(128);
for (let i = 0; i < 64; i++) SEXTETS[ALPHABET.charCodeAt(i)] = i;
const ASCII = new TextDecoder();

/** Encodes bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  // Char codes into a byte buffer, decoded once: string concatenation per character is ~10x slower.
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  for (let i = 0; i < bytes.length; i += 3) {
    const rest = bytes.length - i;
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out[o++] = CODES[n >> 18] ?? 0;
    out[o++] = CODES[(n >> 12) & 63] ?? 0;
    out[o++] = rest > 1 ? (CODES[(n >> 6) & 63] ?? 0) : 61;
    out[o++] = rest > 2 ? (CODES[n & 63] ?? 0) : 61;
  }
  return ASCII.decode(out);
}

/** True when `text` is padded standard base64 (what `decodeBase64` accepts). */
export function isBase64(text: string): boolean {
  return CANONICAL.test(text);
}

/** Decodes padded standard base64; throws naming the problem when `text` is not base64. */
export function decodeBase64(text: string): Uint8Array {
  if (!isBase64(text)) {
    throw new Error(`${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} is not padded standard base64 (RFC 4648 §4): encode values with the A-Z a-z 0-9 + / alphabet and "=" padding`);
  }
  return decodeValidated(text);
}

/**
 * Padded standard base64 (already validated, see `isBase64`) to a string of one char per byte
 * (Latin-1): how the state keeps KV values, a quarter smaller than the base64 text.
 */
export function base64ToLatin1(text: string): string {
  // Decoded into a reused scratch buffer (values up to its 64 KiB): a value is applied on every
  // node, and a fresh Uint8Array of more than 64 bytes is a malloc'd backing store for the GC to track and free.
  const bytes = (text.length / 4) * 3 <= scratch.length ? decodeValidated(text, scratch) : decodeValidated(text);
  if (LATIN1 !== undefined) return LATIN1.decode(bytes);
  let out = "";
  // fromCharCode over slices: one call per byte would allocate a string per byte.
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  return out;
}

/** The bytes of a one-char-per-byte string (see `base64ToLatin1`). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const scratch = new Uint8Array(64 * 1024);

/**
 * A decoder that maps every byte to the char of the same code, when the runtime has one: Node's
 * "latin1" TextDecoder does (one-byte strings, no garbage), although WHATWG's label means
 * windows-1252 (0x80–0x9f differ) — so it is checked on all 256 bytes first, and otherwise
 * `String.fromCharCode` does it (which copies the bytes into an argument list per call: ~2 KB of
 * garbage per 256-byte value, on every node's apply of every write).
 */
const LATIN1: { decode(bytes: Uint8Array): string } | undefined = (() => {
  try {
    const decoder = new TextDecoder("latin1");
    const all = new Uint8Array(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const text = decoder.decode(all);
    if (text.length !== 256) return undefined;
    for (let i = 0; i < 256; i++) if (text.charCodeAt(i) !== i) return undefined;
    return decoder;
  } catch {
    return undefined;
  }
})();

/** Decodes into `into` (at least (length / 4) * 3 bytes; returns the view of the decoded bytes) or a new array. */
function decodeValidated(text: string, into?: Uint8Array): Uint8Array {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const length = (text.length / 4) * 3 - padding;
  const out = into === undefined ? new Uint8Array(length) : into.subarray(0, length);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n =
      ((SEXTETS[text.charCodeAt(i)] ?? 0) << 18) |
      ((SEXTETS[text.charCodeAt(i + 1)] ?? 0) << 12) |
      ((SEXTETS[text.charCodeAt(i + 2)] ?? 0) << 6) |
      (SEXTETS[text.charCodeAt(i + 3)] ?? 0);
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
