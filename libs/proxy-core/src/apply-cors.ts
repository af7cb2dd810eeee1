// Envoy's CORS filter over a route's compiled corsPolicy: a preflight from an allowed origin is
// answered by the proxy; an actual request from an allowed origin is forwarded and its response
// gets the Access-Control-* headers. Requests without Origin, or from other origins, are not CORS
// requests for the proxy (an unmatched preflight is forwarded, or answered without CORS headers
// when the policy says IGNORE).
import { testString } from "./compile-string-match.ts";
import type { Cors } from "./route-table.ts";

export type CorsOutcome =
  /** Answer 200 now with these headers (no upstream call). */
  | { readonly type: "preflight"; readonly headers: readonly (readonly [string, string])[] }
  /** Forward; add these headers to the response. */
  | { readonly type: "actual"; readonly responseHeaders: readonly (readonly [string, string])[] };

/** What CORS does for a request with `method` and lowercase `headers`; undefined = nothing. */
export function applyCors(cors: Cors, method: string, headers: Readonly<Record<string, string | undefined>>): CorsOutcome | undefined {
  const origin = headers["origin"];
  if (origin === undefined || origin === "") return undefined;
  const preflight = method === "OPTIONS" && headers["access-control-request-method"] !== undefined;
  const allowed = cors.allowOrigins.some((matcher) => testString(matcher, origin));
  if (!allowed) {
    return preflight && cors.unmatchedPreflights === "IGNORE" ? { type: "preflight", headers: [] } : undefined;
  }
  if (preflight) {
    const out: [string, string][] = [["access-control-allow-origin", origin]];
    if (cors.allowMethods !== undefined) out.push(["access-control-allow-methods", cors.allowMethods]);
    if (cors.allowHeaders !== undefined) out.push(["access-control-allow-headers", cors.allowHeaders]);
    if (cors.maxAgeSeconds !== undefined) out.push(["access-control-max-age", cors.maxAgeSeconds]);
    if (cors.allowCredentials) out.push(["access-control-allow-credentials", "true"]);
    return { type: "preflight", headers: out };
  }
  const out: [string, string][] = [["access-control-allow-origin", origin]];
  if (cors.allowCredentials) out.push(["access-control-allow-credentials", "true"]);
  if (cors.exposeHeaders !== undefined) out.push(["access-control-expose-headers", cors.exposeHeaders]);
  return { type: "actual", responseHeaders: out };
}
