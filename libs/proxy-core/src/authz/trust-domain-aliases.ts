// Trust domain aliasing of `principals` (Istio pilot/pkg/security/trustdomain): a principal naming
// the local trust domain, one of its aliases, or "cluster.local" stands for the same identity in
// every one of them, so workloads keep their access while the mesh migrates between trust domains.

/**
 * Expands principals with the trust domain and its aliases (`trustDomains[0]` is the local one).
 * A principal is only rewritten when it has the `<td>/ns/<ns>/sa/<sa>` shape (5 parts) and its
 * trust domain is not `*`; `*`-prefixed trust domains that suffix-match are kept as written.
 */
export function expandTrustDomainAliases(principals: readonly string[], trustDomains: readonly string[]): string[] {
  const out: string[] = [];
  for (const principal of principals) {
    const parts = principal.split("/");
    if (parts.length !== 5 || parts[0] === "*") {
      out.push(principal);
      continue;
    }
    const fromPrincipal = parts[0] as string;
    if (!(trustDomains.some((td) => stringMatch(fromPrincipal, td)) || fromPrincipal === "cluster.local")) {
      out.push(principal);
      continue;
    }
    const expanded: string[] = [];
    for (const td of trustDomains) {
      const next = suffixMatch(td, fromPrincipal) ? principal : `${td}/${parts.slice(1).join("/")}`;
      if (!expanded.includes(next)) expanded.push(next);
    }
    out.push(...expanded);
  }
  return out;
}

function stringMatch(value: string, pattern: string): boolean {
  return value === pattern || pattern === "*" || prefixMatch(value, pattern) || suffixMatch(value, pattern);
}

function prefixMatch(value: string, pattern: string): boolean {
  return pattern.endsWith("*") && value.startsWith(pattern.slice(0, -1));
}

function suffixMatch(value: string, pattern: string): boolean {
  return pattern.startsWith("*") && value.endsWith(pattern.slice(1));
}
