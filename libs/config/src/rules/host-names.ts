// Host and DNS name syntax as Istio's webhook checks it (DNS-1123 labels, FQDNs, names with a
// wildcard first label), and Istio's host matching (one host covering another).

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
const wildcardDnsLabel = /^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/i;

const q = (value: unknown): string => JSON.stringify(value);

/** A DNS-1123 label (RFC 1123 §2.1): letters, digits and inner hyphens, at most 63 characters. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && dnsLabel.test(value);
}

/** Why `domain` is not a DNS name whose labels are all DNS-1123 labels, or undefined when it is. */
export function fqdnProblem(domain: string): string | undefined {
  if (domain.length === 0) return "is empty";
  if (domain.length > 255) return `is ${domain.length} characters long; at most 255 allowed`;
  return labelsProblem(domain);
}

function labelsProblem(domain: string): string | undefined {
  const labels = domain.split(".");
  const top = labels[labels.length - 1] as string;
  if (/^[0-9]+$/.test(top)) return `has an all-numeric top-level label ${q(top)}`;
  for (const [i, label] of labels.entries()) {
    if (i === labels.length - 1 && label === "" && i > 0) return undefined; // trailing dot: `istio.io.`
    if (!isDnsLabel(label)) return label === "" ? "has an empty label (two dots in a row?)" : `has an invalid label ${q(label)}`;
  }
  return undefined;
}

/**
 * Why `domain` is not a DNS name with an optional wildcard in its first label (`*`, `*.example.com`),
 * or undefined when it is. Short names (`reviews`) are fine.
 */
export function wildcardDomainProblem(domain: string): string | undefined {
  if (domain.length === 0) return "is empty";
  if (domain.length > 255) return `is ${domain.length} characters long; at most 255 allowed`;
  const dot = domain.indexOf(".");
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (first.length > 63 || !wildcardDnsLabel.test(first)) {
    return first === "" ? "starts with an empty label" : `has an invalid label ${q(first)}`;
  }
  return dot < 0 ? undefined : labelsProblem(domain.slice(dot + 1));
}

/**
 * Every name matched by `narrow` is also matched by `wide` (Istio's host.Name.Matches): equal names,
 * `*` covers everything, `*.example.com` covers every name under example.com at any depth, including
 * narrower wildcards. Names compare as written; callers that ignore case lowercase both first.
 */
export function hostCovers(wide: string, narrow: string): boolean {
  if (wide === narrow || wide === "*") return true;
  if (!wide.startsWith("*")) return false;
  const suffix = wide.slice(1);
  return narrow.startsWith("*") ? narrow.slice(1).endsWith(suffix) : narrow.endsWith(suffix);
}

/** `a` and `b` can name the same service: equal, or one is a wildcard covering the other. */
export function hostsOverlap(a: string, b: string): boolean {
  return hostCovers(a, b) || hostCovers(b, a);
}
