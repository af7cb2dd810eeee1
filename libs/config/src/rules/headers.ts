// HTTP header names (RFC 9110 §5.1: a field name is a token) and header values as Envoy accepts them
// in header operations (`%VAR%` substitutions, `%%` for a literal %).

const headerNameChars = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;

/** An HTTP header field name: a token (RFC 9110 §5.6.2), so no spaces, colons or pseudo-headers. */
export function isHeaderName(name: string): boolean {
  return headerNameChars.test(name);
}

/** A control character other than horizontal tab (what Envoy rejects in header values). */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/** Why `value` is not a header value Envoy accepts (`%VAR%` substitutions, `%%` for a literal %). */
export function headerValueProblem(value: string): string | undefined {
  if (hasControlCharacter(value)) return "contains a control character (newline?)";
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== "%") continue;
    if (value[i + 1] === "%") {
      i++;
      continue;
    }
    const end = value.indexOf("%", i + 1);
    if (end < 0) return `has an unterminated % at position ${i}`;
    const variable = value.slice(i + 1, end);
    if (!/^[A-Z][A-Z0-9_]*(\(.*\))?(:[0-9]+)?$/.test(variable)) return `has an invalid substitution ${JSON.stringify(`%${variable}%`)}`;
    i = end;
  }
  return undefined;
}
