/** Istio's principal form of a SPIFFE ID (`spiffe://cluster.local/ns/x/sa/y` → `cluster.local/ns/x/sa/y`), as AuthorizationPolicy `principals` match it. */
export function principalOf(spiffeId: string): string {
  return spiffeId.startsWith("spiffe://") ? spiffeId.slice("spiffe://".length) : spiffeId;
}
