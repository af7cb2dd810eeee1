// The request key a consistent-hash balancer hashes, from a DestinationRule's consistentHash:
// a header, a cookie, the source IP or a query parameter (Istio ConsistentHashLB).
import { queryParam } from "./find-route.ts";
import { hashString } from "./hash-string.ts";

export type HashPolicy =
  | { readonly type: "header"; readonly name: string }
  | { readonly type: "cookie"; readonly name: string }
  | { readonly type: "source-ip" }
  | { readonly type: "query-parameter"; readonly name: string };

/** The request fields hash policies read. Header names are lowercase. */
export interface HashInput {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: string;
  readonly sourceIp: string;
}

/** DestinationRule consistentHash (decoded) → a policy; undefined when it names no key. */
export function compileHashPolicy(spec: {
  readonly httpHeaderName?: string | undefined;
  readonly httpCookie?: { readonly name: string } | undefined;
  readonly useSourceIp?: boolean | undefined;
  readonly httpQueryParameterName?: string | undefined;
}): HashPolicy | undefined {
  if (spec.httpHeaderName !== undefined) return { type: "header", name: spec.httpHeaderName.toLowerCase() };
  if (spec.httpCookie !== undefined) return { type: "cookie", name: spec.httpCookie.name };
  if (spec.useSourceIp) return { type: "source-ip" };
  if (spec.httpQueryParameterName !== undefined) return { type: "query-parameter", name: spec.httpQueryParameterName };
  return undefined;
}

/**
 * The 32-bit hash of the request's key, or undefined when the key is absent (the balancer then
 * picks at random; for a cookie with a TTL the adapter should set one, as Envoy does).
 */
export function requestHash(policy: HashPolicy, input: HashInput): number | undefined {
  const key = requestKey(policy, input);
  return key === undefined ? undefined : hashString(key);
}

function requestKey(policy: HashPolicy, input: HashInput): string | undefined {
  switch (policy.type) {
    case "header":
      return input.headers[policy.name];
    case "source-ip":
      return input.sourceIp;
    case "query-parameter":
      return queryParam(input.query, policy.name);
    case "cookie":
      return cookieValue(input.headers["cookie"], policy.name);
  }
}

/** Value of cookie `name` in a Cookie header (`a=1; b=2`). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq >= 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
