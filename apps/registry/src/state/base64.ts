// Base64 for KV values inside commands and snapshots (JSON-safe), without node:buffer so the state
// machine stays pure. Standard alphabet with padding (RFC 4648 §4), as Consul's JSON uses. The
// state keeps a value as a string of one char per byte (Latin-1), which is what the runtime's own
// `atob` / `btoa` (Node, Deno, browsers) take and give: 20× faster than encoding in JavaScript,
// on every node's apply of every write, on every read and for every key of a snapshot.

const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Encodes bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return btoa(latin1Of(bytes));
}

/** Encodes a one-char-per-byte string's bytes (see `base64ToLatin1`) as padded standard base64. */
export function latin1ToBase64(latin1: string): string {
  return btoa(latin1);
}

/**
 * Above this length `isBase64` checks with a loop: V8's regexp engine keeps a backtrack entry per
 * repetition and throws "Maximum call stack size exceeded" on tens of MB (a restored state).
 */
const REGEXP_MAX_LENGTH = 1024 * 1024;

/** True when `text` is padded standard base64 (what `decodeBase64` accepts). */
export function isBase64(text: string): boolean {
  if (text.length <= REGEXP_MAX_LENGTH) return CANONICAL.test(text);
  if (text.length % 4 !== 0) return false;
  const body = text.endsWith("==") ? text.length - 2 : text.endsWith("=") ? text.length - 1 : text.length;
  for (let i = 0; i < body; i++) {
    const c = text.charCodeAt(i);
    // A-Z a-z 0-9 + /
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47)) return false;
  }
  return true;
}

/** Decodes padded standard base64; throws naming the problem when `text` is not base64. */
export function decodeBase64(text: string): Uint8Array {
  return latin1Bytes(checkedBase64ToLatin1(text));
}

/** As `base64ToLatin1`, for text not validated yet: throws naming the problem when it is not padded base64. */
export function checkedBase64ToLatin1(text: string): string {
  if (!isBase64(text)) {
    throw new Error(`${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} is not padded standard base64 (RFC 4648 §4): encode values with the A-Z a-z 0-9 + / alphabet and "=" padding`);
  }
  return atob(text);
}

/**
 * Padded standard base64 (already validated, see `isBase64`: `atob` alone would also take text
 * without padding or with spaces) to a string of one char per byte (Latin-1): how the state keeps
 * KV values, a quarter smaller than the base64 text, and a V8 one-byte string with no ArrayBuffer.
 */
export function base64ToLatin1(text: string): string {
  return atob(text);
}

/** The bytes of a one-char-per-byte string (see `base64ToLatin1`). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** The one-char-per-byte string of `bytes`. */
function latin1Of(bytes: Uint8Array): string {
  let out = "";
  // fromCharCode over slices: one call per byte would allocate a string per byte.
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  return out;
}
