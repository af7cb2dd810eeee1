// Consistent hashing on a Ketama-style ring (Karger et al. 1997; Envoy's RING_HASH): every
// endpoint owns many points `hash("<address>_<n>")` on a 32-bit ring, in proportion to its
// weight; a request goes to the first point at or after its key's hash. Removing one of n
// endpoints moves only the keys it owned, ≈ 1/n of them.
import { usableEndpoints, type Endpoint, type LoadBalancer, type Random } from "./endpoint.ts";
import { hashString } from "./hash-string.ts";

export interface RingHashOptions {
  /** Istio/Envoy default 1024: the ring has at least this many points. */
  readonly minimumRingSize?: number;
  /** Envoy default 8M: the cap when weights are very uneven. */
  readonly maximumRingSize?: number;
  /** Used for requests without a hash key (Envoy picks at random then). */
  readonly random: Random;
}

/** A ring-hash balancer over the usable endpoints; `pick(hash)` with a 32-bit key hash. */
export function createRingHashBalancer(endpoints: readonly Endpoint[], options: RingHashOptions): LoadBalancer & { readonly ringSize: number } {
  const usable = usableEndpoints(endpoints);
  const minRing = options.minimumRingSize ?? 1024;
  const maxRing = options.maximumRingSize ?? 8 * 1024 * 1024;
  const total = usable.reduce((sum, i) => sum + (endpoints[i] as Endpoint).weight, 0);
  const points: { hash: number; endpoint: number }[] = [];
  if (usable.length > 0) {
    const minShare = Math.min(...usable.map((i) => (endpoints[i] as Endpoint).weight / total));
    // Envoy ring_hash_lb.cc: scale so that the lightest endpoint gets ceil(minShare * minRing) points.
    const scale = Math.min(Math.ceil(minShare * minRing) / minShare, maxRing);
    let currentHashes = 0;
    let targetHashes = 0;
    for (const i of usable) {
      const endpoint = endpoints[i] as Endpoint;
      currentHashes += (scale * endpoint.weight) / total;
      for (let n = 0; targetHashes < currentHashes; n++, targetHashes++) {
        points.push({ hash: hashString(`${endpoint.address}_${n}`), endpoint: i });
      }
    }
  }
  points.sort((a, b) => a.hash - b.hash || a.endpoint - b.endpoint);
  const hashes = Uint32Array.from(points, (p) => p.hash);
  const owners = Int32Array.from(points, (p) => p.endpoint);
  return {
    ringSize: hashes.length,
    pick(hash) {
      if (hashes.length === 0) return -1;
      const key = hash ?? Math.floor(options.random() * 0x1_0000_0000);
      // First point with hash >= key, wrapping to the start of the ring.
      let lo = 0;
      let hi = hashes.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((hashes[mid] as number) < key) lo = mid + 1;
        else hi = mid;
      }
      return owners[lo === hashes.length ? 0 : lo] as number;
    },
  };
}
