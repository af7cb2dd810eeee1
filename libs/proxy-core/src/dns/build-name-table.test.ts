import { describe, expect, it } from "vitest";
import { buildProxyConfig } from "../build-proxy-config.ts";
import type { ClusterEndpoint, ClusterSpec, ServicePort } from "../proxy-config.ts";
import { catalogResources, type CatalogInstance } from "../proxy-model/catalog-resources.ts";
import { buildNameTable, podHostnameLabel } from "./build-name-table.ts";
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

describe("buildNameTable: headless services (Istio's name table for services without an address)", () => {
  const endpoint = (host: string, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({
    address: `${host}:3306`,
    weight: 1,
    healthy: true,
    locality: { region: "", zone: "", subZone: "" },
    host,
    port: 3306,
    labels: {},
    origin: "test",
    ...extra,
  });
  const clusters = (byCluster: Record<string, readonly ClusterEndpoint[]>): ReadonlyMap<string, Pick<ClusterSpec, "endpoints">> =>
    new Map(Object.entries(byCluster).map(([name, endpoints]) => [name, { endpoints }]));
  const mysql = "mysql.default.svc.cluster.local";
  const services = [service(mysql, undefined, { port: 3306, cluster: `outbound|3306||${mysql}` }), service(mysql, undefined, { port: 33060, cluster: `outbound|33060||${mysql}` })];
  const pods = {
    [`outbound|3306||${mysql}`]: [
      endpoint("10.1.0.5", { labels: { [podHostnameLabel]: "mysql-0" } }),
      endpoint("10.1.0.6", { labels: { [podHostnameLabel]: "mysql-1" } }),
      endpoint("fd00::7", { labels: { [podHostnameLabel]: "mysql-2" } }),
      endpoint("10.1.0.8", { healthy: false, labels: { [podHostnameLabel]: "mysql-3" } }),
    ],
    // The other port's cluster repeats a pod and adds one: each address once, in endpoint order.
    [`outbound|33060||${mysql}`]: [endpoint("10.1.0.6"), endpoint("10.1.0.9"), endpoint("db.example.com"), endpoint("unix:///var/run/mysql.sock")],
  };
  const table = buildNameTable(services, { ...options, clusters: clusters(pods) });
  const ask = (name: string): string => show(lookupName(table, name, search));

  it("answers the service's names with every ready endpoint's IP, each once, skipping DNS names and sockets", () => {
    for (const name of [mysql, "mysql.default.svc", "mysql.default", "mysql"]) expect(ask(name), name).toBe(`${name} A 10.1.0.5,10.1.0.6,10.1.0.9 AAAA fd00::7`);
  });

  it("answers <hostname>.<service> and its short forms with that pod's IP, for ready endpoints only", () => {
    expect(ask(`mysql-0.${mysql}`)).toBe(`mysql-0.${mysql} A 10.1.0.5 AAAA -`);
    expect(ask("mysql-1.mysql.default.svc")).toBe("mysql-1.mysql.default.svc A 10.1.0.6 AAAA -");
    expect(ask("mysql-1.mysql.default")).toBe("mysql-1.mysql.default A 10.1.0.6 AAAA -");
    expect(ask("mysql-2.mysql")).toBe("mysql-2.mysql A - AAAA fd00::7");
    expect(ask(`mysql-3.${mysql}`)).toBe("unknown");
    // The first search domain appended: a CNAME, as for services.
    expect(ask(`mysql-0.${mysql}.default.svc.cluster.local`)).toBe(`CNAME mysql-0.${mysql} mysql-0.${mysql} A 10.1.0.5 AAAA -`);
  });

  it("lists the service and its pods as entries marked headless", () => {
    expect(table.entries.map((e) => [e.host, e.headless ?? "-"])).toEqual([
      [mysql, "service"],
      [`mysql-0.${mysql}`, "pod"],
      [`mysql-1.${mysql}`, "pod"],
      [`mysql-2.${mysql}`, "pod"],
    ]);
    expect(table.entries[1]?.names).toEqual([`mysql-0.${mysql}`, "mysql-0.mysql.default.svc", "mysql-0.mysql.default", "mysql-0.mysql"]);
  });

  it("gives a pod of another namespace's service no bare <hostname>.<service> name", () => {
    const other = "kafka.prod.svc.cluster.local";
    const kafka = buildNameTable([service(other, undefined)], { ...options, clusters: clusters({ [`outbound|80||${other}`]: [endpoint("10.2.0.1", { labels: { [podHostnameLabel]: "kafka-0" } })] }) });
    expect(kafka.entries.find((e) => e.headless === "pod")?.names).toEqual([`kafka-0.${other}`, "kafka-0.kafka.prod.svc", "kafka-0.kafka.prod"]);
  });

  it("does not take endpoints for a host with an address on any port (its own or auto-allocated), nor for wildcard hosts", () => {
    const withVip = buildNameTable([service(mysql, ["10.96.0.30"], { port: 3306, cluster: `outbound|3306||${mysql}` }), service(mysql, undefined, { port: 33060, cluster: `outbound|33060||${mysql}` })], {
      ...options,
      clusters: clusters(pods),
    });
    expect(show(lookupName(withVip, "mysql", []))).toBe("mysql A 10.96.0.30 AAAA -");
    expect(show(lookupName(withVip, `mysql-0.${mysql}`, []))).toBe("unknown");
    const auto = buildNameTable([service(mysql, ["240.240.0.7", "2001:2::f0f0:7"], { port: 3306, cluster: `outbound|3306||${mysql}`, autoAllocated: true })], { ...options, clusters: clusters(pods) });
    expect(show(lookupName(auto, "mysql", []))).toBe("mysql A 240.240.0.7 AAAA -");
    const wild = buildNameTable([service("*.wild.example.com", undefined)], { ...options, clusters: clusters({ "outbound|80||*.wild.example.com": [endpoint("10.3.0.1")] }) });
    expect(wild.entries).toEqual([]);
  });

  it("leaves a host out when none of its endpoints is ready, and without clusters as before", () => {
    const down = clusters({ [`outbound|3306||${mysql}`]: [endpoint("10.1.0.5", { healthy: false })] });
    expect(show(lookupName(buildNameTable([services[0] as ServicePort], { ...options, clusters: down }), "mysql", []))).toBe("unknown");
    expect(show(lookupName(buildNameTable(services, options), "mysql", []))).toBe("unknown");
  });

  it("keeps a service's own names over a pod's: a pod whose FQDN is a service host is left out, a taken short form stays the service's", () => {
    const clash = "mysql-0.mysql.default.svc.cluster.local";
    const own = buildNameTable([...services, service(clash, ["192.0.2.5"]), service("mysql-1.mysql.default", ["192.0.2.6"])], { ...options, clusters: clusters(pods) });
    expect(show(lookupName(own, clash, []))).toBe(`${clash} A 192.0.2.5 AAAA -`);
    expect(show(lookupName(own, "mysql-0.mysql", []))).toBe("unknown");
    expect(show(lookupName(own, "mysql-1.mysql.default", []))).toBe("mysql-1.mysql.default A 192.0.2.6 AAAA -");
    expect(show(lookupName(own, "mysql-1.mysql", []))).toBe("mysql-1.mysql A 10.1.0.6 AAAA -");
    expect(own.entries.filter((e) => e.host === clash)).toHaveLength(1);
  });

  it("follows a registry service without a cluster IP from the catalog: passing instances answer, critical ones do not, pod hostnames from the meta", () => {
    const instance = (id: string, address: string, health: string, meta: Record<string, string> = {}): CatalogInstance => ({
      node: "node-1",
      nodeAddress: address,
      serviceId: id,
      serviceName: "mysql",
      address,
      port: 3306,
      tags: [],
      meta: { namespace: "default", protocol: "tcp", ...meta },
      health,
    });
    const catalog = (instances: CatalogInstance[]) => {
      const resources = catalogResources({ instances }, { domainSuffix: "cluster.local" });
      const { config } = buildProxyConfig([...resources.serviceEntries, ...resources.workloadEntries], { ...options, proxyLabels: {}, version: "1" });
      return buildNameTable(config.services, { ...options, clusters: config.clusters });
    };
    const before = catalog([instance("default/mysql-0/3306", "10.1.0.5", "passing", { [podHostnameLabel]: "mysql-0" }), instance("default/mysql-1/3306", "10.1.0.6", "critical", { [podHostnameLabel]: "mysql-1" })]);
    expect(show(lookupName(before, "mysql", []))).toBe("mysql A 10.1.0.5 AAAA -");
    expect(show(lookupName(before, "mysql-0.mysql", []))).toBe("mysql-0.mysql A 10.1.0.5 AAAA -");
    expect(show(lookupName(before, "mysql-1.mysql", []))).toBe("unknown");
    // mysql-1 becomes ready: the next config's table answers it.
    const after = catalog([instance("default/mysql-0/3306", "10.1.0.5", "passing", { [podHostnameLabel]: "mysql-0" }), instance("default/mysql-1/3306", "10.1.0.6", "passing", { [podHostnameLabel]: "mysql-1" })]);
    expect(show(lookupName(after, "mysql", []))).toBe("mysql A 10.1.0.5,10.1.0.6 AAAA -");
    expect(show(lookupName(after, "mysql-1.mysql", []))).toBe("mysql-1.mysql A 10.1.0.6 AAAA -");
  });
});
