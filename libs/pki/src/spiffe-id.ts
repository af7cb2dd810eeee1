// SPIFFE IDs (`spiffe://<trust-domain>/<path>`): parsing, formatting and validation per the
// SPIFFE-ID spec §2, and the Kubernetes-style workload form `spiffe://<td>/ns/<ns>/sa/<sa>`.
import { reject, type Rejection, type SpiffeIdErrorReason } from "./reasons.ts";

/** A trust domain name, validated (SPIFFE-ID §2.1): lowercase `[a-z0-9._-]`, 1-255 bytes. */
export type TrustDomain = string & { readonly __brand: "TrustDomain" };

/** A SPIFFE ID in canonical form, validated (SPIFFE-ID §2). Equal IDs are equal strings. */
export type SpiffeId = string & { readonly __brand: "SpiffeId" };

/** A parsed SPIFFE ID. `path` is `""` for a trust domain's own ID, else `/seg/seg...`. */
export interface ParsedSpiffeId {
  readonly ok: true;
  readonly id: SpiffeId;
  readonly trustDomain: TrustDomain;
  readonly path: string;
}

/** The outcome of parsing or building a SPIFFE ID. */
export type SpiffeIdResult = ParsedSpiffeId | Rejection<SpiffeIdErrorReason>;

/** A parsed workload ID `spiffe://<td>/ns/<namespace>/sa/<serviceAccount>`. */
export interface ParsedWorkloadId {
  readonly ok: true;
  readonly id: SpiffeId;
  readonly trustDomain: TrustDomain;
  readonly namespace: string;
  readonly serviceAccount: string;
}

const scheme = "spiffe://";
/** SPIFFE-ID §2.3: implementations must support IDs up to 2048 bytes, and should not make longer. */
const maxIdBytes = 2048;
/** SPIFFE-ID §2.3 (after RFC 3986): the host, hence the trust domain, is at most 255 bytes. */
const maxTrustDomainBytes = 255;
const trustDomainChar = /^[a-z0-9._-]$/;
const pathChar = /^[A-Za-z0-9._-]$/;

/**
 * Validates a trust domain name (SPIFFE-ID §2.1): not empty, no userinfo or port, lowercase
 * letters, digits, `.`, `-`, `_` only, no percent-encoding, at most 255 bytes.
 */
export function parseTrustDomain(input: string): { readonly ok: true; readonly trustDomain: TrustDomain } | Rejection<SpiffeIdErrorReason> {
  if (input === "") return reject("missing-trust-domain", "the trust domain is empty");
  if (input.includes("@")) return reject("userinfo", `trust domain "${input}" has a userinfo part ("@"); SPIFFE IDs carry none`);
  // SPIFFE-ID §2.1 admits dotted-quad IPv4 but not IPv6 literals, whose colons are not a port.
  if (input.startsWith("[")) return reject("trust-domain-char", `trust domain "${input}" is an IPv6 literal; allowed are [a-z0-9._-]`);
  if (input.includes(":")) return reject("port", `trust domain "${input}" has a port (":"); SPIFFE IDs carry none`);
  if (input.includes("%")) return reject("percent-encoded", `trust domain "${input}" is percent-encoded; use the characters [a-z0-9._-] only`);
  for (const c of input) {
    if (!trustDomainChar.test(c)) {
      const hint = c >= "A" && c <= "Z" ? " (trust domains are lowercase)" : "";
      return reject("trust-domain-char", `trust domain "${input}" contains "${c}"${hint}; allowed are [a-z0-9._-]`);
    }
  }
  if (input.length > maxTrustDomainBytes) return reject("too-long", `trust domain is ${input.length} bytes, the limit is ${maxTrustDomainBytes}`);
  return { ok: true, trustDomain: input as TrustDomain };
}

/** Validates one path segment (SPIFFE-ID §2.2); `null` when valid. */
function checkSegment(segment: string, id: string): Rejection<SpiffeIdErrorReason> | null {
  if (segment === "") return reject("empty-segment", `"${id}" has an empty path segment ("//")`);
  if (segment === "." || segment === "..") return reject("dot-segment", `"${id}" has a "${segment}" path segment`);
  if (segment.includes("%")) return reject("percent-encoded", `"${id}" has a percent-encoded path segment "${segment}"`);
  for (const c of segment) {
    if (!pathChar.test(c)) return reject("path-char", `"${id}" has "${c}" in path segment "${segment}"; allowed are [A-Za-z0-9._-]`);
  }
  return null;
}

/**
 * Parses a SPIFFE ID (SPIFFE-ID §2). Only the canonical form is accepted: the scheme must be
 * exactly `spiffe://` and the trust domain lowercase (as go-spiffe does), so two IDs name the same
 * workload exactly when their strings are equal. No query, fragment, port, userinfo,
 * percent-encoding, empty or dot segments, or trailing slash; at most 2048 bytes.
 */
export function parseSpiffeId(input: string): SpiffeIdResult {
  if (input === "") return reject("empty", "the SPIFFE ID is empty");
  // Any non-ASCII character fails the character checks below, so UTF-16 length bounds bytes here.
  if (input.length > maxIdBytes) return reject("too-long", `the SPIFFE ID is ${input.length} bytes, the limit is ${maxIdBytes}`);
  if (!input.startsWith(scheme)) return reject("wrong-scheme", `"${input}" does not start with "spiffe://"`);
  const rest = input.slice(scheme.length);
  if (rest.includes("?") || rest.includes("#")) return reject("query-or-fragment", `"${input}" has a query or fragment; SPIFFE IDs carry none`);
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  const td = parseTrustDomain(authority);
  if (!td.ok) return reject(td.reason, `"${input}": ${td.detail}`);
  if (path !== "") {
    if (path.endsWith("/")) return reject("trailing-slash", `"${input}" ends with "/"`);
    for (const segment of path.slice(1).split("/")) {
      const problem = checkSegment(segment, input);
      if (problem) return problem;
    }
  }
  return { ok: true, id: input as SpiffeId, trustDomain: td.trustDomain, path };
}

/** True when `input` is a valid SPIFFE ID in canonical form. */
export function isSpiffeId(input: string): input is SpiffeId {
  return parseSpiffeId(input).ok;
}

/** Builds `spiffe://<trustDomain>/<segments joined by "/">`, validating each segment. */
export function formatSpiffeId(trustDomain: TrustDomain, segments: readonly string[]): SpiffeIdResult {
  const joined = segments.map((s) => `/${s}`).join("");
  const id = `${scheme}${trustDomain}${joined}`;
  for (const segment of segments) {
    if (segment.includes("/")) return reject("path-char", `path segment "${segment}" contains "/"`);
    const problem = checkSegment(segment, id);
    if (problem) return problem;
  }
  return parseSpiffeId(id);
}

/** The trust domain's own ID, `spiffe://<td>` (no path): what a signing certificate may carry (X509-SVID §3.2). */
export function trustDomainId(trustDomain: TrustDomain): SpiffeId {
  return `${scheme}${trustDomain}` as SpiffeId;
}

/** The trust domain of a validated SPIFFE ID. */
export function trustDomainOf(id: SpiffeId): TrustDomain {
  const rest = id.slice(scheme.length);
  const slash = rest.indexOf("/");
  return (slash === -1 ? rest : rest.slice(0, slash)) as TrustDomain;
}

/** The workload ID `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>` (DESIGN.md §3.3). */
export function workloadId(parts: { readonly trustDomain: TrustDomain; readonly namespace: string; readonly serviceAccount: string }): SpiffeIdResult {
  return formatSpiffeId(parts.trustDomain, ["ns", parts.namespace, "sa", parts.serviceAccount]);
}

/** Parses a workload ID; any valid SPIFFE ID of another shape is refused as "not-a-workload-id". */
export function parseWorkloadId(input: string): ParsedWorkloadId | Rejection<SpiffeIdErrorReason> {
  const parsed = parseSpiffeId(input);
  if (!parsed.ok) return parsed;
  const segments = parsed.path.split("/").slice(1);
  const [ns, namespace, sa, serviceAccount] = segments;
  if (segments.length !== 4 || ns !== "ns" || sa !== "sa" || namespace === undefined || serviceAccount === undefined) {
    return reject("not-a-workload-id", `"${input}" is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`);
  }
  return { ok: true, id: parsed.id, trustDomain: parsed.trustDomain, namespace, serviceAccount };
}
