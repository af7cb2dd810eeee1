// Strict UTF-8 decoding for conf-change payloads, message strings and printed entry data, on the
// platform's TextDecoder (Node, Deno and browsers all have it; the lib's "dom" types name it).

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes UTF-8, or returns `undefined` if `bytes` is not well-formed UTF-8 (a leading BOM is kept: it is data). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}
