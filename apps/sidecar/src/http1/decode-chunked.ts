// Decodes a complete chunked body (RFC 9112 §7.1) into its payload, for the rare paths that need
// the bytes themselves (mirroring through node:http); the data path forwards chunked bytes as
// they are. Extensions and trailers are dropped.

/** The payload of a complete, valid chunked body; undefined when it is malformed or incomplete. */
export function decodeChunked(body: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    const sizeText = body.toString("latin1", at, lineEnd).split(";")[0]?.trim() ?? "";
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) return undefined;
    const size = parseInt(sizeText, 16);
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (start + size + 2 > body.length || body[start + size] !== 13 || body[start + size + 1] !== 10) return undefined;
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}
