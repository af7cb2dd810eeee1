// Where an HTTP/1.1 head ends in a buffer: the offset just past the blank line (CRLF CRLF).
// Also refuses line endings that are not CRLF and NUL bytes inside the head, which parsers
// disagree about (a smuggling vector), so the caller can answer 400.

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

/**
 * Offset after the head's blank line; -1 when the head is not complete within `maxBytes`
 * (or `data` ends first); -2 when the head contains a bare CR, bare LF or NUL.
 *
 * One pass over the head's bytes in JavaScript: a head is a few hundred bytes, where a native
 * `indexOf` per line ending costs more in calls than the scan itself.
 */
export function headEnd(data: Buffer, maxBytes: number): number {
  const length = data.length;
  // A blank line that starts after maxBytes means "too large" whatever comes before it.
  const scanEnd = Math.min(length, maxBytes + 4);
  let bareLf = -1;
  let bareCrOrNul = -1;
  for (let i = 0; i < scanEnd; i++) {
    const c = data[i] as number;
    if (c > 13) continue;
    if (c === 13) {
      if (i + 3 < length && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) {
        if (i > maxBytes) return -1;
        return bareLf >= 0 || bareCrOrNul >= 0 ? -2 : i + 4;
      }
      if (data[i + 1] !== 10 && bareCrOrNul < 0) bareCrOrNul = i;
    } else if (c === 10) {
      if ((i === 0 || data[i - 1] !== 13) && bareLf < 0) bareLf = i;
    } else if (c === 0 && bareCrOrNul < 0) {
      bareCrOrNul = i;
    }
  }
  // No blank line within the limit: one further on still means too large; none at all means
  // incomplete — unless a bare LF came first (a head in bare-LF lines never completes).
  if (length > scanEnd && data.indexOf(CRLFCRLF, scanEnd) >= 0) return -1;
  return bareLf >= 0 ? -2 : -1;
}
