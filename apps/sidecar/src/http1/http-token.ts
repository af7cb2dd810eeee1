// RFC 9110 §5.6.2 token characters, for methods and header field names.

const tokenChars = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") tokenChars[c.charCodeAt(0)] = 1;

/** Whether `text` is a non-empty token. */
export function isTokenText(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || tokenChars[c] === 0) return false;
  }
  return true;
}
