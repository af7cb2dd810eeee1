import { describe, expect, it } from "vitest";
import type { ServicePort } from "../proxy-config.ts";
import { buildNameTable } from "./build-name-table.ts";
import { lookupName, type NameLookup } from "./lookup-name.ts";

const service = (host: string, addresses: readonly string[] | undefined, extra: Partial<ServicePort> = {}): ServicePort => ({
  host,
  port: 80,
  portName: "http",
  protocol: "http",
  cluster: `outbound|80||${host}`,
  serviceEntry: "default/se",
  ...(addresses === undefined ? {} : { addresses }),
  ...extra,
});

const options = { namespace: "default", domainSuffix: "cluster.local" };
// A pod in namespace default: the resolv.conf Kubernetes writes.
const search = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"];

/** What a lookup answers, in one comparable line. */
function show(lookup: NameLookup): string {
  if (lookup.type === "unknown") return "unknown";
  const cname = lookup.cname === undefined ? "" : `CNAME ${lookup.cname.target} `;
  return `${cname}${lookup.owner} A ${lookup.entry.ipv4.join(",") || "-"} AAAA ${lookup.entry.ipv6.join(",") || "-"}`;
}

describe("buildNameTable and lookupName", () => {
  const table = buildNameTable(
    [
      service("reviews.default.svc.cluster.local", ["10.96.0.10"]),
      service("ratings.prod.svc.cluster.local", ["10.96.0.11", "fd00::11"]),
      service("api.example.com", ["192.0.2.10"]),
      service("api.example.com", ["192.0.2.11", "192.0.2.10"], { port: 443 }),
      service("noaddress.example.com", undefined),
      service("*.wild.example.com", undefined),
      service("*.vip.example.com", ["192.0.2.99"]),
      service("block.example.com", ["192.0.2.0/24"]),
    ],
    options,
  );
  const ask = (name: string): string => show(lookupName(table, name, search));

  it("answers a Kubernetes-style host by its FQDN and the short forms a pod resolves: name.ns.svc, name.ns and (same namespace) name", () => {
    for (const name of ["reviews.default.svc.cluster.local", "reviews.default.svc", "reviews.default", "reviews", "REVIEWS.Default.", "reviews."]) {
      expect(ask(name), name).toBe(`${name.toLowerCase().replace(/\.$/, "")} A 10.96.0.10 AAAA -`);
    }
  });

  it("answers another namespace's service by name.ns and longer, never by the bare name", () => {
    expect(ask("ratings.prod")).toBe("ratings.prod A 10.96.0.11 AAAA fd00::11");
    expect(ask("ratings.prod.svc")).toBe("ratings.prod.svc A 10.96.0.11 AAAA fd00::11");
    expect(ask("ratings")).toBe("unknown");
  });

  it("answers the name a resolver builds with the first search domain as a CNAME to the name it came from", () => {
    expect(ask("reviews.default.svc.cluster.local.default.svc.cluster.local")).toBe("CNAME reviews.default.svc.cluster.local reviews.default.svc.cluster.local A 10.96.0.10 AAAA -");
    expect(ask("api.example.com.default.svc.cluster.local")).toBe("CNAME api.example.com api.example.com A 192.0.2.10,192.0.2.11 AAAA -");
    expect(ask("ratings.prod.default.svc.cluster.local")).toBe("CNAME ratings.prod ratings.prod A 10.96.0.11 AAAA fd00::11");
    // Only the first search domain (as Istio): the next ones are the upstream resolver's.
    expect(ask("api.example.com.svc.cluster.local")).toBe("unknown");
    expect(show(lookupName(table, "api.example.com.default.svc.cluster.local", []))).toBe("unknown");
  });

  it("merges the addresses of a host's ports and ServiceEntries, each once", () => {
    expect(ask("api.example.com")).toBe("api.example.com A 192.0.2.10,192.0.2.11 AAAA -");
  });

  it("does not serve hosts without IP addresses: no address, a CIDR block, or a wildcard host without addresses", () => {
    expect(ask("noaddress.example.com")).toBe("unknown");
    expect(ask("block.example.com")).toBe("unknown");
    expect(ask("a.wild.example.com")).toBe("unknown");
    expect(ask("*.wild.example.com")).toBe("unknown");
    expect(table.entries.map((e) => e.host)).toEqual(["reviews.default.svc.cluster.local", "ratings.prod.svc.cluster.local", "api.example.com", "*.vip.example.com"]);
  });

  it("answers names under a wildcard host that has an address (as Istio), not the bare domain", () => {
    expect(ask("a.vip.example.com")).toBe("a.vip.example.com A 192.0.2.99 AAAA -");
    expect(ask("a.b.vip.example.com")).toBe("a.b.vip.example.com A 192.0.2.99 AAAA -");
    expect(ask("vip.example.com")).toBe("unknown");
  });

  it("keeps a host's own spelling over another host's short form", () => {
    const own = buildNameTable([service("reviews.default.svc.cluster.local", ["10.96.0.10"]), service("reviews.default", ["192.0.2.1"])], options);
    expect(show(lookupName(own, "reviews.default", []))).toBe("reviews.default A 192.0.2.1 AAAA -");
    expect(show(lookupName(own, "reviews", []))).toBe("reviews A 10.96.0.10 AAAA -");
    expect(own.entries[0]?.names).toEqual(["reviews.default.svc.cluster.local", "reviews.default.svc", "reviews"]);
  });

  it("answers auto-allocated IPv6 addresses only for a proxy with IPv6", () => {
    const auto = [service("db.example.com", ["240.240.0.7", "2001:2::f0f0:7"], { autoAllocated: true }), service("v6.example.com", ["2001:db8::1"])];
    expect(show(lookupName(buildNameTable(auto, options), "db.example.com", []))).toBe("db.example.com A 240.240.0.7 AAAA -");
    expect(show(lookupName(buildNameTable(auto, { ...options, autoAllocatedIpv6: true }), "db.example.com", []))).toBe("db.example.com A 240.240.0.7 AAAA 2001:2::f0f0:7");
    expect(show(lookupName(buildNameTable(auto, options), "v6.example.com", []))).toBe("v6.example.com A - AAAA 2001:db8::1");
  });
});
