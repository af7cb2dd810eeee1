import { DNS_RCODE, DNS_TYPE, type DnsMessage, type DnsRecord } from "@meshwork/protocol/dns-wire";
import { buildNameTable, podHostnameLabel, type ClusterEndpoint, type ServicePort } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { answerDnsQuery, dnsAnswerTtlSeconds, type DnsDecision } from "./answer-dns-query.ts";

const service = (host: string, addresses: readonly string[]): ServicePort => ({ host, port: 80, portName: "http", protocol: "http", cluster: `outbound|80||${host}`, serviceEntry: "default/se", addresses });
const table = buildNameTable([service("reviews.default.svc.cluster.local", ["10.96.0.10"]), service("dual.example.com", ["192.0.2.1", "2001:db8::1"])], { namespace: "default", domainSuffix: "cluster.local" });
const search = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"];

function query(name: string, type: number, extra: Partial<DnsMessage> = {}): DnsMessage {
  return { id: 0xbeef, flags: { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0 }, questions: [{ name, type, class: 1 }], answers: [], authorities: [], additionals: [], ...extra };
}

function show(r: DnsRecord): string {
  const d = r.data;
  return `${r.name} ${r.ttl} ${d.kind === "a" || d.kind === "aaaa" ? `${d.kind.toUpperCase()} ${d.address}` : d.kind === "cname" ? `CNAME ${d.target}` : d.kind}`;
}

function answered(request: DnsMessage): DnsMessage {
  const decision = answerDnsQuery(request, table, search);
  if (decision.type !== "answer") throw new Error(`expected a local answer for ${request.questions[0]?.name}, got ${decision.type}`);
  return decision.response;
}

describe("answerDnsQuery", () => {
  it("answers a mesh name authoritatively with its A records, the question's id, RD echoed and the question's spelling", () => {
    const response = answered(query("Reviews.default.", DNS_TYPE.A));
    expect(response.id).toBe(0xbeef);
    expect(response.flags).toMatchObject({ qr: true, aa: true, rd: true, ra: true, rcode: DNS_RCODE.NOERROR });
    expect(response.questions).toEqual([{ name: "Reviews.default.", type: DNS_TYPE.A, class: 1 }]);
    expect(response.answers.map(show)).toEqual([`Reviews.default ${dnsAnswerTtlSeconds} A 10.96.0.10`]);
  });

  it("answers NODATA (NOERROR, no records) for an address type the host has none of, instead of asking upstream", () => {
    const response = answered(query("reviews", DNS_TYPE.AAAA));
    expect(response.flags.rcode).toBe(DNS_RCODE.NOERROR);
    expect(response.answers).toEqual([]);
    expect(answered(query("dual.example.com", DNS_TYPE.AAAA)).answers.map(show)).toEqual(["dual.example.com 30 AAAA 2001:db8::1"]);
    expect(answered(query("dual.example.com", DNS_TYPE.ANY)).answers.map(show)).toEqual(["dual.example.com 30 A 192.0.2.1", "dual.example.com 30 AAAA 2001:db8::1"]);
  });

  it("chains a CNAME to the name a resolver's first search domain was appended to", () => {
    expect(answered(query("dual.example.com.default.svc.cluster.local", DNS_TYPE.A)).answers.map(show)).toEqual([
      "dual.example.com.default.svc.cluster.local 30 CNAME dual.example.com",
      "dual.example.com 30 A 192.0.2.1",
    ]);
    // Nothing to chain to: NODATA without the CNAME.
    expect(answered(query("reviews.default.svc.cluster.local.default.svc.cluster.local", DNS_TYPE.AAAA)).answers).toEqual([]);
  });

  it("forwards names the mesh does not know, other record types and classes, other opcodes, and everything before the first config", () => {
    expect(answerDnsQuery(query("example.org", DNS_TYPE.A), table, search)).toEqual({ type: "forward" });
    expect(answerDnsQuery(query("reviews", DNS_TYPE.MX), table, search)).toEqual({ type: "forward" });
    expect(answerDnsQuery(query("reviews", DNS_TYPE.TXT), table, search)).toEqual({ type: "forward" });
    expect(answerDnsQuery({ ...query("reviews", DNS_TYPE.A), questions: [{ name: "reviews", type: DNS_TYPE.A, class: 3 }] }, table, search)).toEqual({ type: "forward" });
    expect(answerDnsQuery({ ...query("reviews", DNS_TYPE.A), flags: { ...query("x", 1).flags, opcode: 4 } }, table, search)).toEqual({ type: "forward" });
    expect(answerDnsQuery(query("reviews", DNS_TYPE.A), undefined, search)).toEqual({ type: "forward" });
  });

  it("answers FORMERR to a query without a question", () => {
    const decision = answerDnsQuery({ ...query("x", 1), questions: [] }, table, search);
    expect(decision.type === "answer" && decision.response.flags.rcode).toBe(DNS_RCODE.FORMERR);
  });

  it("includes an OPT record when the query had one (EDNS0), with the payload size it accepts", () => {
    const opt: DnsRecord = { name: "", type: DNS_TYPE.OPT, class: 4096, ttl: 0, data: { kind: "raw", bytes: new Uint8Array(0) } };
    expect(answered(query("reviews", DNS_TYPE.A, { additionals: [opt] })).additionals.map((r) => [r.type, r.class])).toEqual([[DNS_TYPE.OPT, 1232]]);
    expect(answered(query("reviews", DNS_TYPE.A)).additionals).toEqual([]);
  });
});

describe("answerDnsQuery: headless services and reverse lookups", () => {
  const mysql = "mysql.default.svc.cluster.local";
  const endpoint = (host: string, healthy: boolean, hostname?: string): ClusterEndpoint => ({
    address: `${host}:3306`,
    weight: 1,
    healthy,
    locality: { region: "", zone: "", subZone: "" },
    host,
    port: 3306,
    labels: hostname === undefined ? {} : { [podHostnameLabel]: hostname },
    origin: "test",
  });
  const headless = buildNameTable([{ ...service(mysql, []), cluster: `outbound|3306||${mysql}` }, service("reviews.default.svc.cluster.local", ["10.96.0.10"])], {
    namespace: "default",
    domainSuffix: "cluster.local",
    clusters: new Map([[`outbound|3306||${mysql}`, { endpoints: [endpoint("10.1.0.5", true, "mysql-0"), endpoint("10.1.0.6", true, "mysql-1"), endpoint("fd00::7", true), endpoint("10.1.0.8", false, "mysql-3")] }]]),
  });
  const ask = (name: string, type: number, id = 0): DnsDecision => answerDnsQuery({ ...query(name, type), id }, headless, search);
  const records = (decision: DnsDecision): string[] => {
    if (decision.type !== "answer") throw new Error(`expected a local answer, got ${decision.type}`);
    return decision.response.answers.map(show);
  };

  it("answers a headless service's A and AAAA with every ready endpoint, never the not-ready one", () => {
    expect(records(ask("mysql", DNS_TYPE.A)).sort()).toEqual(["mysql 30 A 10.1.0.5", "mysql 30 A 10.1.0.6"]);
    expect(records(ask("mysql.default.svc.cluster.local", DNS_TYPE.AAAA))).toEqual(["mysql.default.svc.cluster.local 30 AAAA fd00::7"]);
  });

  it("rotates several addresses by the query id, so clients spread over the endpoints", () => {
    const firsts = new Set([0, 1, 2, 3].map((id) => records(ask("mysql", DNS_TYPE.A, id))[0]));
    expect(firsts).toEqual(new Set(["mysql 30 A 10.1.0.5", "mysql 30 A 10.1.0.6"]));
  });

  it("answers a pod's <hostname>.<service> names with that pod's address", () => {
    expect(records(ask("mysql-0.mysql.default.svc.cluster.local", DNS_TYPE.A))).toEqual(["mysql-0.mysql.default.svc.cluster.local 30 A 10.1.0.5"]);
    expect(records(ask("mysql-1.mysql", DNS_TYPE.A))).toEqual(["mysql-1.mysql 30 A 10.1.0.6"]);
    expect(records(ask("mysql-1.mysql", DNS_TYPE.AAAA))).toEqual([]);
  });

  it("relays a not-ready pod's name and reverse lookups upstream, as Istio's agent does (its table answers A and AAAA only)", () => {
    expect(ask("mysql-3.mysql.default.svc.cluster.local", DNS_TYPE.A)).toEqual({ type: "forward" });
    // Addresses the table knows (a service VIP, a headless pod) and one it does not: all relayed.
    for (const name of ["10.0.96.10.in-addr.arpa", "5.0.1.10.in-addr.arpa", "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", "1.2.0.192.in-addr.arpa"]) {
      expect(ask(name, DNS_TYPE.PTR), name).toEqual({ type: "forward" });
    }
  });
});
