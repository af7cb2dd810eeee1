// The string matching of AuthorizationPolicy values, as Istio's builder turns them into Envoy
// matchers (pilot/pkg/security/authz/matcher): "*" alone, "*suffix", "prefix*", or exact.

/** A compiled value: `(value) => matches`, never called with undefined. */
export type ValueTest = (value: string) => boolean;

/**
 * Istio's StringMatcher: "*" → regex ".+" (any non-empty value), "*abc" → suffix, "abc*" → prefix,
 * anything else exact (a "*" elsewhere is literal). Used for principals, paths, SNI, claims, presenter.
 */
export function compileStringValue(pattern: string, ignoreCase = false): ValueTest {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  if (p === "*") return (v) => v.length > 0;
  if (p.startsWith("*")) {
    const suffix = p.slice(1);
    return ignoreCase ? (v) => v.toLowerCase().endsWith(suffix) : (v) => v.endsWith(suffix);
  }
  if (p.endsWith("*")) {
    const prefix = p.slice(0, -1);
    return ignoreCase ? (v) => v.toLowerCase().startsWith(prefix) : (v) => v.startsWith(prefix);
  }
  return ignoreCase ? (v) => v.length === p.length && v.toLowerCase() === p : (v) => v === p;
}

/**
 * Istio's HeaderMatcher (methods, request.headers[...], and hosts with ignoreCase): like
 * compileStringValue except that "*" is Envoy's present_match, true even for an empty value.
 */
export function compileHeaderValue(pattern: string, ignoreCase = false): ValueTest {
  if (pattern === "*") return () => true;
  return compileStringValue(pattern, ignoreCase);
}
