// The path of a redirect's Location, as Envoy's RedirectAction builds it: path_redirect replaces
// the whole path, prefix_rewrite (Istio's `%PREFIX()%` redirect.uri) the prefix the route matched.

import type { Redirect } from "./route-table.ts";

/**
 * The Location's path for a request to `path` (without its query, which the caller keeps): the
 * request's own without `uri`; `uri` in place of the matched prefix with `replacesPrefix`; `uri`
 * otherwise.
 */
export function redirectPath(redirect: Redirect, path: string): string {
  if (redirect.uri === undefined) return path;
  if (redirect.replacesPrefix !== undefined) return redirect.uri + path.slice(redirect.replacesPrefix.length);
  return redirect.uri;
}
