// Shared checks for consistent-hash balancers: how keys spread, and how many move when the
// endpoint set changes.
import { hashString } from "../src/hash-string.ts";
import type { Endpoint, LoadBalancer } from "../src/endpoint.ts";

/** Addresses chosen for `keys` request keys (`user-<i>`). */
export function assign(lb: LoadBalancer, endpoints: readonly Endpoint[], keys: number): string[] {
  return Array.from({ length: keys }, (_, i) => (endpoints[lb.pick(hashString(`user-${i}`))] as Endpoint).address);
}

/** Share of keys whose address differs between two assignments. */
export function movedShare(before: readonly string[], after: readonly string[]): number {
  let moved = 0;
  before.forEach((address, i) => {
    if (after[i] !== address) moved++;
  });
  return moved / before.length;
}
