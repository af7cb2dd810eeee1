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
  const bytes = decodeValidated(text);
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

function decodeValidated(text: string): Uint8Array {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
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
