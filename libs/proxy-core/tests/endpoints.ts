// Endpoint lists for balancer tests.
import type { Endpoint, Locality } from "../src/endpoint.ts";

export const here: Locality = { region: "eu", zone: "eu-1", subZone: "a" };

/** `n` healthy endpoints 10.0.0.<i>:8080 of weight 1 in `here`, with overrides per index. */
export function makeEndpoints(n: number, override: (i: number) => Partial<Endpoint> = () => ({})): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.0.${i >> 8}.${i & 255}:8080`,
    weight: 1,
    healthy: true,
    locality: here,
    ...override(i),
  }));
}

/** How often each index was picked in `draws` picks. */
export function countPicks(n: number, draws: number, pick: () => number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < draws; i++) {
    const p = pick();
    counts[p] = (counts[p] ?? 0) + 1;
  }
  return counts;
}
