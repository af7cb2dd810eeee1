// Applies a route's rewrite to a request path, as Envoy's prefix_rewrite / regex_rewrite do.
import type { Rewrite } from "./route-table.ts";

/**
 * The path to forward: with a prefix rewrite the matched prefix is replaced by `uri`; with a uri
 * rewrite on an exact or regex match the whole path is replaced; a regex rewrite substitutes
 * every match (RE2 GlobalReplace). The query string is the caller's to re-append.
 */
export function applyRewrite(rewrite: Rewrite, path: string): string {
  if (rewrite.regex) {
    rewrite.regex.pattern.lastIndex = 0;
    return path.replace(rewrite.regex.pattern, rewrite.regex.substitution);
  }
  if (rewrite.uri === undefined) return path;
  if (rewrite.replacesPrefix !== undefined) return rewrite.uri + path.slice(rewrite.replacesPrefix.length);
  return rewrite.uri;
}
