// Virtual addresses for services that have none, so that DNS proxying can answer their names and
// the outbound TCP path can tell them apart (Istio's DNS auto-allocation: ISTIO_META_DNS_AUTO_ALLOCATE,
// pilot's serviceentry autoAllocateIPs, and the ranges of Istio 1.23's ip-autoallocate controller).
// Pure and deterministic: the same services give the same addresses on every proxy and replica.
import type { ClusterSpec, ServicePort } from "../proxy-config.ts";

/**
 * Where auto-allocated addresses come from: IPv4 Class E (RFC 1112 §4, never routed, so traffic to
 * them only means something inside the pod) and IPv6's benchmarking range (RFC 5180 §8).
 */
export const autoAllocationRanges = { ipv4: "240.240.0.0/16", ipv6: "2001:2::/48" } as const;

/** Usable addresses: 240.240.<0-255>.<1-254> (a last octet of 0 or 255 is avoided, as Istio does). */
export const autoAllocationSlots = 256 * 254;
/** The largest prime below the slot count: the second hash's modulus (Istio's 65011). */
const prime = 65_011;

export interface AllocatedAddresses {
  readonly ipv4: string;
  readonly ipv6: string;
}

export interface AddressAllocation {
  readonly byKey: ReadonlyMap<string, AllocatedAddresses>;
  /** Keys left without addresses: more keys than slots. */
  readonly unallocated: readonly string[];
}

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text` (Go's hash/fnv New32a, which Istio hashes service keys with). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  const add = (byte: number): void => {
    h = Math.imul(h ^ byte, 0x01000193);
  };
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0;
    if (cp < 0x80) add(cp);
    else if (cp < 0x800) [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)].forEach(add);
    else if (cp < 0x10000) [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)].forEach(add);
    else [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)].forEach(add);
  }
  return h >>> 0;
}

/** The addresses of slot `slot` (0 ≤ slot < autoAllocationSlots). */
export function slotAddresses(slot: number): AllocatedAddresses {
  const third = Math.floor(slot / 254);
  const fourth = (slot % 254) + 1;
  return { ipv4: `240.240.${third}.${fourth}`, ipv6: `2001:2::f0f0:${((third << 8) | fourth).toString(16)}` };
}

/**
 * An address pair per distinct key (Istio's service key `<namespace>/<host>`), a function of the
 * set of keys only: keys are placed in sorted order at FNV-1a(key) mod N; a taken slot is resolved
 * by double hashing (step prime − h mod prime, Istio's), then by the next free slot should the
 * probe sequence cycle. A key keeps its address for as long as no key sorting before it lands on
 * its slot.
 */
export function allocateAddresses(keys: Iterable<string>): AddressAllocation {
  const sorted = [...new Set(keys)].sort();
  const taken = new Uint8Array(autoAllocationSlots);
  const byKey = new Map<string, AllocatedAddresses>();
  const unallocated: string[] = [];
  for (const key of sorted) {
    if (byKey.size >= autoAllocationSlots) {
      unallocated.push(key);
      continue;
    }
    const h = fnv1a32(key);
    let slot = h % autoAllocationSlots;
    if (taken[slot] === 1) {
      const step = prime - (h % prime);
      let probes = 0;
      while (taken[slot] === 1 && probes < autoAllocationSlots) {
        slot = (slot + step) % autoAllocationSlots;
        probes++;
      }
      // The step shares a factor with the slot count (2 or 127) and its cycle is full.
      while (taken[slot] === 1) slot = (slot + 1) % autoAllocationSlots;
    }
    taken[slot] = 1;
    byKey.set(key, slotAddresses(slot));
  }
  return { byKey, unallocated };
}

/**
 * `services` with auto-allocated addresses on every port of each host Istio gives one to: a host
 * without a `*`, without addresses of its own on any port, whose resolution is not NONE (its
 * default cluster is not original-destination: traffic to an invented address could not be sent
 * on to the address the caller meant). Registry services without a cluster IP qualify too, as
 * Consul's transparent proxy gives every service a virtual IP. Other ports are returned as they
 * are (the same objects); issues name hosts left without an address.
 */
export function autoAllocateServiceAddresses(
  services: readonly ServicePort[],
  clusters: ReadonlyMap<string, Pick<ClusterSpec, "discovery">>,
): { readonly services: ServicePort[]; readonly issues: string[] } {
  const addressed = new Set<string>();
  for (const service of services) if (service.addresses !== undefined && service.addresses.length > 0) addressed.add(service.host);
  const keyOf = (service: ServicePort): string | undefined => {
    if (service.host.includes("*") || addressed.has(service.host)) return undefined;
    if (clusters.get(service.cluster)?.discovery === "original-destination") return undefined;
    const slash = service.serviceEntry.indexOf("/");
    return `${slash < 0 ? "" : service.serviceEntry.slice(0, slash)}/${service.host}`;
  };
  const keys = new Map<ServicePort, string>();
  for (const service of services) {
    const key = keyOf(service);
    if (key !== undefined) keys.set(service, key);
  }
  if (keys.size === 0) return { services: [...services], issues: [] };
  const allocation = allocateAddresses(keys.values());
  const issues = allocation.unallocated.map((key) => `service "${key}": no address left to auto-allocate (all ${autoAllocationSlots} of ${autoAllocationRanges.ipv4} are taken); give its ServiceEntry \`addresses\``);
  return {
    services: services.map((service) => {
      const key = keys.get(service);
      const pair = key === undefined ? undefined : allocation.byKey.get(key);
      return pair === undefined ? service : { ...service, addresses: [pair.ipv4, pair.ipv6], autoAllocated: true };
    }),
    issues,
  };
}
