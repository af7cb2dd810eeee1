// Where an HTTP/1.1 head ends in a buffer: the offset just past the blank line (CRLF CRLF).
// Also refuses line endings that are not CRLF and NUL bytes inside the head, which parsers
// disagree about (a smuggling vector), so the caller can answer 400.

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

/**
 * Offset after the head's blank line; -1 when the head is not complete within `maxBytes`
 * (or `data` ends first); -2 when the head contains a bare CR, bare LF or NUL.
 */
export function headEnd(data: Buffer, maxBytes: number): number {
  const found = data.indexOf(CRLFCRLF);
  if (found < 0) {
    // Not complete yet; but a bare LF already seen means it never will be (a head in bare-LF lines).
    const limit = Math.min(data.length, maxBytes + 4);
    for (let i = data.indexOf(10); i >= 0 && i < limit; i = data.indexOf(10, i + 1)) if (data[i - 1] !== 13) return -2;
    return -1;
  }
  if (found > maxBytes) return -1;
  const end = found + 4;
  for (let i = data.indexOf(10); i >= 0 && i < end; i = data.indexOf(10, i + 1)) {
    if (data[i - 1] !== 13) return -2;
  }
  for (let i = data.indexOf(13); i >= 0 && i < end; i = data.indexOf(13, i + 1)) {
    if (data[i + 1] !== 10) return -2;
  }
  const nul = data.indexOf(0);
  if (nul >= 0 && nul < end) return -2;
  return end;
}
