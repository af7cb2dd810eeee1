// RFC 9110 §5.6.2 token characters, for methods and header field names.

const tokenChars = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") tokenChars[c.charCodeAt(0)] = 1;

/** Whether `text` is a non-empty token. */
export function isTokenText(text: string): boolean {
  return isTokenRange(text, 0, text.length);
}

/** Whether text[start, end) is a non-empty token (no slice: for names checked in place). */
export function isTokenRange(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || tokenChars[c] === 0) return false;
  }
  return true;
}
