// Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): a lookup table of prime size M
// filled by each endpoint in turn following its own permutation (offset + j·skip) mod M, with
// Envoy's weighted fill. Lookup is one array read; removing an endpoint moves ≈ 1/n of keys.
import { usableEndpoints, type Endpoint, type LoadBalancer, type Random } from "./endpoint.ts";
import { hashString } from "./hash-string.ts";

export interface MaglevOptions {
  /** A prime; Istio/Envoy default 65537. */
  readonly tableSize?: number;
  /** Used for requests without a hash key. */
  readonly random: Random;
}

/** A Maglev balancer over the usable endpoints; `pick(hash)` with a 32-bit key hash. */
export function createMaglevBalancer(endpoints: readonly Endpoint[], options: MaglevOptions): LoadBalancer & { readonly table: Int32Array } {
  const size = options.tableSize ?? 65537;
  if (!isPrime(size)) throw new Error(`Maglev table size must be prime, got ${size}`);
  const usable = usableEndpoints(endpoints);
  const table = new Int32Array(size).fill(-1);
  if (usable.length > 0) fill(table, endpoints, usable);
  return {
    table,
    pick(hash) {
      if (usable.length === 0) return -1;
      const key = hash ?? Math.floor(options.random() * 0x1_0000_0000);
      return table[key % size] as number;
    },
  };
}

/** Algorithm 1 of the paper, weighted as in Envoy's maglev_lb.cc (an endpoint of weight w/max fills every max/w rounds). */
function fill(table: Int32Array, endpoints: readonly Endpoint[], usable: readonly number[]): void {
  const size = table.length;
  const maxWeight = Math.max(...usable.map((i) => (endpoints[i] as Endpoint).weight));
  const entries = usable.map((i) => {
    const address = (endpoints[i] as Endpoint).address;
    return {
      endpoint: i,
      offset: hashString(address, 0) % size,
      skip: (hashString(address, 1) % (size - 1)) + 1,
      weight: (endpoints[i] as Endpoint).weight / maxWeight,
      target: 0,
      next: 0,
    };
  });
  let filled = 0;
  for (let iteration = 1; filled < size; iteration++) {
    for (const entry of entries) {
      if (filled >= size) break;
      if (iteration * entry.weight < entry.target) continue;
      entry.target += 1;
      let c = (entry.offset + entry.next * entry.skip) % size;
      while (table[c] !== -1) {
        entry.next++;
        c = (entry.offset + entry.next * entry.skip) % size;
      }
      table[c] = entry.endpoint;
      entry.next++;
      filled++;
    }
  }
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
