import { describe, expect, it } from "vitest";
import type { CheckDefinition, HealthStatus, PreparedQueryDefinition, PreparedQueryService, RegistryCommand } from "../registry-contract.ts";
import { RegistryState } from "../state/registry-state.ts";
import { answerQuery, type DnsZone, formatDnsAnswer, isDnsInstance, planDnsAnswer } from "./answer-query.ts";
import { type DnsMessage, type DnsRecord, DNS_TYPE } from "@meshwork/protocol/dns-wire";

const zone: DnsZone = { domain: "consul", datacenter: "dc1", ttlSeconds: 0 };

function check(id: string, serviceId: string | undefined, status: HealthStatus): CheckDefinition {
  return { checkId: id, name: id, serviceId, status, output: "", type: "ttl" };
}

function register(node: string, address: string, service: { id: string; name: string; address?: string; port: number; tags?: string[] } | undefined, checks: CheckDefinition[] = []): RegistryCommand {
  return {
    op: "catalog-register",
    node,
    address,
    ...(service === undefined ? {} : { service: { id: service.id, service: service.name, address: service.address ?? "", port: service.port, tags: service.tags ?? [], meta: {} } }),
    checks,
  };
}

function fixture(): RegistryState {
  const state = new RegistryState();
  const commands: RegistryCommand[] = [
    register("n1", "10.0.0.1", { id: "web-1", name: "web", port: 8080, tags: ["v1", "Primary"] }, [check("web-1-alive", "web-1", "passing")]),
    register("n2", "10.0.0.2", { id: "web-2", name: "web", port: 8081, tags: ["v2"] }, [check("web-2-alive", "web-2", "warning")]),
    register("n3", "10.0.0.3", { id: "web-3", name: "web", port: 8082, tags: ["v1"] }, [check("web-3-alive", "web-3", "critical")]),
    // Same address as web-1's node: one A record for both.
    register("n1", "10.0.0.1", { id: "web-4", name: "web", port: 9090, tags: [] }),
    register("n4", "fd00::4", { id: "db-1", name: "db", port: 5432 }),
    register("n5", "10.0.0.5", { id: "api-1", name: "api", address: "192.168.1.5", port: 80 }),
    register("n6", "10.0.0.6", { id: "down-1", name: "down", port: 1 }, [check("serfHealth", undefined, "critical")]),
    register("n7", "10.0.0.7", { id: "ext-1", name: "ext", address: "example.org", port: 443 }),
  ];
  commands.forEach((command, i) => expect(state.apply(i + 1, command, 0).ok).toBe(true));
  return state;
}

function query(name: string, type: number, extra: Partial<DnsMessage> = {}, klass = 1): DnsMessage {
  return {
    id: 7,
    flags: { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0 },
    questions: [{ name, type, class: klass }],
    answers: [],
    authorities: [],
    additionals: [],
    ...extra,
  };
}

function show(record: DnsRecord): string {
  const d = record.data;
  const value = d.kind === "a" || d.kind === "aaaa" ? d.address : d.kind === "srv" ? `${d.priority} ${d.weight} ${d.port} ${d.target}` : d.kind === "soa" ? `${d.mname} ${d.rname} ${d.serial}` : "raw";
  return `${record.name} ${record.type} ${value}`;
}

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
const SOA = "consul 6 ns.consul hostmaster.consul 8";

// name, type → rcode, answers, authority, additional (records as "owner type value").
const cases: { name: string; type: number; rcode: string; answers?: string[]; authorities?: string[]; additionals?: string[] }[] = [
  { name: "web.service.consul", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["web.service.consul 1 10.0.0.1", "web.service.consul 1 10.0.0.2"] },
  { name: "WEB.Service.CONSUL", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["WEB.Service.CONSUL 1 10.0.0.1", "WEB.Service.CONSUL 1 10.0.0.2"] },
  { name: "web.service.dc1.consul", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["web.service.dc1.consul 1 10.0.0.1", "web.service.dc1.consul 1 10.0.0.2"] },
  { name: "web.service.dc2.consul", type: DNS_TYPE.A, rcode: "NXDOMAIN", authorities: [SOA] },
  { name: "v1.web.service.consul", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["v1.web.service.consul 1 10.0.0.1"] },
  { name: "primary.web.service.consul", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["primary.web.service.consul 1 10.0.0.1"] },
  { name: "v3.web.service.consul", type: DNS_TYPE.A, rcode: "NXDOMAIN", authorities: [SOA] },
  {
    name: "web.service.consul",
    type: DNS_TYPE.SRV,
    rcode: "NOERROR",
    answers: ["web.service.consul 33 1 1 8080 n1.node.dc1.consul", "web.service.consul 33 1 1 9090 n1.node.dc1.consul", "web.service.consul 33 1 1 8081 n2.node.dc1.consul"],
    additionals: ["n1.node.dc1.consul 1 10.0.0.1", "n2.node.dc1.consul 1 10.0.0.2"],
  },
  { name: "_web._tcp.service.consul", type: DNS_TYPE.SRV, rcode: "NOERROR", answers: ["_web._tcp.service.consul 33 1 1 8080 n1.node.dc1.consul", "_web._tcp.service.consul 33 1 1 9090 n1.node.dc1.consul", "_web._tcp.service.consul 33 1 1 8081 n2.node.dc1.consul"], additionals: ["n1.node.dc1.consul 1 10.0.0.1", "n2.node.dc1.consul 1 10.0.0.2"] },
  { name: "_web._v2.service.consul", type: DNS_TYPE.SRV, rcode: "NOERROR", answers: ["_web._v2.service.consul 33 1 1 8081 n2.node.dc1.consul"], additionals: ["n2.node.dc1.consul 1 10.0.0.2"] },
  { name: "api.service.consul", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["api.service.consul 1 192.168.1.5"] },
  { name: "api.service.consul", type: DNS_TYPE.SRV, rcode: "NOERROR", answers: ["api.service.consul 33 1 1 80 n5.node.dc1.consul"], additionals: ["n5.node.dc1.consul 1 192.168.1.5"] },
  { name: "db.service.consul", type: DNS_TYPE.AAAA, rcode: "NOERROR", answers: ["db.service.consul 28 fd00::4"] },
  { name: "db.service.consul", type: DNS_TYPE.A, rcode: "NOERROR", authorities: [SOA] },
  { name: "db.service.consul", type: DNS_TYPE.ANY, rcode: "NOERROR", answers: ["db.service.consul 28 fd00::4"] },
  { name: "web.service.consul", type: DNS_TYPE.TXT, rcode: "NOERROR", authorities: [SOA] },
  { name: "ext.service.consul", type: DNS_TYPE.A, rcode: "NOERROR", authorities: [SOA] },
  { name: "down.service.consul", type: DNS_TYPE.A, rcode: "NXDOMAIN", authorities: [SOA] },
  { name: "nope.service.consul", type: DNS_TYPE.A, rcode: "NXDOMAIN", authorities: [SOA] },
  { name: "n2.node.consul", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["n2.node.consul 1 10.0.0.2"] },
  { name: "n3.node.dc1.consul", type: DNS_TYPE.A, rcode: "NOERROR", answers: ["n3.node.dc1.consul 1 10.0.0.3"] },
  { name: "n4.node.consul", type: DNS_TYPE.AAAA, rcode: "NOERROR", answers: ["n4.node.consul 28 fd00::4"] },
  { name: "n9.node.consul", type: DNS_TYPE.A, rcode: "NXDOMAIN", authorities: [SOA] },
  { name: "a.b.node.consul", type: DNS_TYPE.A, rcode: "NXDOMAIN", authorities: [SOA] },
  { name: "something.consul", type: DNS_TYPE.A, rcode: "NXDOMAIN", authorities: [SOA] },
  { name: "consul", type: DNS_TYPE.SOA, rcode: "NOERROR", answers: [SOA] },
  { name: "consul", type: DNS_TYPE.A, rcode: "NOERROR", authorities: [SOA] },
  { name: "example.com", type: DNS_TYPE.A, rcode: "REFUSED" },
  { name: "notconsul", type: DNS_TYPE.A, rcode: "REFUSED" },
];

describe("answerQuery", () => {
  const state = fixture();
  for (const c of cases) {
    it(`${c.name} type ${c.type} → ${c.rcode}`, () => {
      const response = answerQuery(state, query(c.name, c.type), zone);
      expect(RCODE_NAMES[response.flags.rcode]).toBe(c.rcode);
      expect(response.flags).toMatchObject({ qr: true, rd: true, ra: false, tc: false, aa: c.rcode !== "REFUSED" });
      expect(response.id).toBe(7);
      expect(response.questions).toEqual(query(c.name, c.type).questions);
      expect(response.answers.map(show)).toEqual(c.answers ?? []);
      expect(response.authorities.map(show)).toEqual(c.authorities ?? []);
      expect(response.additionals.map(show)).toEqual(c.additionals ?? []);
    });
  }

  it("refuses classes other than IN, answers NOTIMP to other opcodes and FORMERR to two questions", () => {
    expect(answerQuery(state, query("web.service.consul", 1, {}, 3), zone).flags.rcode).toBe(5);
    const notify = query("web.service.consul", 1);
    expect(answerQuery(state, { ...notify, flags: { ...notify.flags, opcode: 4 } }, zone).flags.rcode).toBe(4);
    const two = query("web.service.consul", 1);
    expect(answerQuery(state, { ...two, questions: [...two.questions, ...two.questions] }, zone).flags.rcode).toBe(1);
    expect(answerQuery(state, { ...two, questions: [] }, zone).flags.rcode).toBe(1);
  });

  it("applies the TTL and a custom domain, and answers EDNS0 with an OPT record", () => {
    const opt: DnsRecord = { name: "", type: DNS_TYPE.OPT, class: 1232, ttl: 0, data: { kind: "raw", bytes: new Uint8Array(0) } };
    const response = answerQuery(state, query("web.service.mesh.local", DNS_TYPE.SRV, { additionals: [opt] }), { domain: "mesh.local", datacenter: "east", ttlSeconds: 30 });
    expect(response.answers.map((r) => [r.ttl, r.data.kind === "srv" ? r.data.target : ""])).toEqual([
      [30, "n1.node.east.mesh.local"],
      [30, "n1.node.east.mesh.local"],
      [30, "n2.node.east.mesh.local"],
    ]);
    expect(response.additionals.at(-1)).toMatchObject({ type: DNS_TYPE.OPT, class: 4096 });
  });

  it("excludes an instance once a check turns critical, and serves it again once it passes", () => {
    const s = fixture();
    const before = answerQuery(s, query("v2.web.service.consul", DNS_TYPE.A), zone);
    expect(before.answers).toHaveLength(1);
    s.apply(100, { op: "check-update", node: "n2", checkId: "web-2-alive", status: "critical", output: "down" }, 0);
    expect(answerQuery(s, query("v2.web.service.consul", DNS_TYPE.A), zone).flags.rcode).toBe(3);
    s.apply(101, { op: "check-update", node: "n2", checkId: "web-2-alive", status: "passing", output: "" }, 0);
    expect(answerQuery(s, query("v2.web.service.consul", DNS_TYPE.A), zone).answers).toHaveLength(1);
  });
});

describe("planDnsAnswer and formatDnsAnswer (the halves a client agent answers with)", () => {
  it("plans a reply without lookup for what is not ours, and the lookup for each kind of name", () => {
    expect(planDnsAnswer(query("example.com", DNS_TYPE.A), zone)).toMatchObject({ type: "reply", response: { flags: { rcode: 5, aa: false } } });
    expect(planDnsAnswer(query("consul", DNS_TYPE.SOA), zone)).toEqual({ type: "lookup", lookup: { kind: "zone" } });
    expect(planDnsAnswer(query("a.b.node.consul", DNS_TYPE.A), zone)).toEqual({ type: "lookup", lookup: { kind: "unknown" } });
    expect(planDnsAnswer(query("V1.Web.service.dc1.consul", DNS_TYPE.A), zone)).toEqual({ type: "lookup", lookup: { kind: "service", service: "web", tag: "v1" } });
    expect(planDnsAnswer(query("_web._tcp.service.consul", DNS_TYPE.SRV), zone)).toEqual({ type: "lookup", lookup: { kind: "service", service: "web", tag: undefined } });
    expect(planDnsAnswer(query("N2.node.consul", DNS_TYPE.A), zone)).toEqual({ type: "lookup", lookup: { kind: "node", node: "n2" } });
    expect(planDnsAnswer(query("my.query.query.consul", DNS_TYPE.A), zone)).toEqual({ type: "lookup", lookup: { kind: "query", query: "my.query" } });
  });

  it("formats found instances with the serial given, a query's TTL, and NXDOMAIN for none", () => {
    const found = { kind: "instances" as const, instances: [{ node: "n1", address: "10.0.0.1", port: 8080 }], ttlSeconds: 10 };
    const srv = formatDnsAnswer(query("q.query.consul", DNS_TYPE.SRV), zone, found, 41);
    expect(srv.answers.map(show)).toEqual(["q.query.consul 33 1 1 8080 n1.node.dc1.consul"]);
    expect(srv.answers[0]?.ttl).toBe(10);
    expect(srv.additionals.map(show)).toEqual(["n1.node.dc1.consul 1 10.0.0.1"]);
    const none = formatDnsAnswer(query("q.query.consul", DNS_TYPE.A), zone, { kind: "instances", instances: [] }, 41);
    expect(RCODE_NAMES[none.flags.rcode]).toBe("NXDOMAIN");
    expect(none.authorities.map(show)).toEqual(["consul 6 ns.consul hostmaster.consul 41"]);
  });

  it("counts an instance for DNS unless critical, tags matched without case", () => {
    expect(isDnsInstance({ checks: [{ status: "warning" }], tags: ["Primary"] }, "primary")).toBe(true);
    expect(isDnsInstance({ checks: [{ status: "passing" }, { status: "critical" }], tags: [] }, undefined)).toBe(false);
    expect(isDnsInstance({ checks: [], tags: ["v1"] }, "v2")).toBe(false);
  });
});

function preparedQuery(id: string, name: string, service: Partial<PreparedQueryService>, options: { ttl?: string; template?: boolean } = {}): RegistryCommand {
  const query: PreparedQueryDefinition = {
    id,
    name,
    session: "",
    token: "",
    template: { type: options.template === true ? "name_prefix_match" : "", regexp: "", removeEmptyTags: false },
    service: { service: "web", failover: { nearestN: 0, datacenters: [] }, onlyPassing: false, ignoreCheckIds: [], near: "", tags: [], nodeMeta: {}, serviceMeta: {}, ...service },
    dns: { ttl: options.ttl ?? "" },
  };
  return { op: "query-set", create: true, query };
}

describe("answerQuery for prepared queries (<query>.query.<domain>)", () => {
  const state = fixture();
  [
    preparedQuery("0b0b0b0b-0000-4000-8000-000000000001", "web-v1", { tags: ["v1"] }, { ttl: "30s" }),
    preparedQuery("0b0b0b0b-0000-4000-8000-000000000002", "web-passing", { onlyPassing: true }),
    preparedQuery("0b0b0b0b-0000-4000-8000-000000000003", "nothing", { service: "down" }),
    preparedQuery("0b0b0b0b-0000-4000-8000-000000000004", "svc-", { service: "${name.suffix}" }, { template: true, ttl: "1m" }),
    preparedQuery("0b0b0b0b-0000-4000-8000-000000000005", "near.me", { near: "_agent" }),
  ].forEach((command, i) => expect(state.apply(100 + i, command, 0).ok).toBe(true));
  const ask = (name: string, type: number, nodeName?: string) => answerQuery(state, query(name, type), { ...zone, ...(nodeName === undefined ? {} : { nodeName }) });

  it("answers A with the query's healthy instances and its DNS.TTL, by name and by id, with or without the datacenter", () => {
    for (const name of ["web-v1.query.consul", "WEB-V1.query.dc1.consul", "0b0b0b0b-0000-4000-8000-000000000001.query.consul"]) {
      const response = ask(name, DNS_TYPE.A);
      expect(RCODE_NAMES[response.flags.rcode], name).toBe("NOERROR");
      expect(response.answers.map((r) => [show(r), r.ttl])).toEqual([[`${name} 1 10.0.0.1`, 30]]);
    }
    expect(ask("web-passing.query.consul", DNS_TYPE.A).answers.map(show)).toEqual(["web-passing.query.consul 1 10.0.0.1"]);
  });

  it("answers SRV with node targets and addresses, as for services", () => {
    const response = ask("web-v1.query.consul", DNS_TYPE.SRV);
    expect(response.answers.map(show)).toEqual(["web-v1.query.consul 33 1 1 8080 n1.node.dc1.consul"]);
    expect(response.additionals.map(show)).toEqual(["n1.node.dc1.consul 1 10.0.0.1"]);
  });

  it("renders templates for the name asked, and takes dots in a query name", () => {
    const response = ask("svc-api.query.consul", DNS_TYPE.A);
    expect(response.answers.map((r) => [show(r), r.ttl])).toEqual([["svc-api.query.consul 1 192.168.1.5", 60]]);
    expect(ask("near.me.query.consul", DNS_TYPE.SRV, "n2").answers.map(show)[0]).toBe("near.me.query.consul 33 1 1 8081 n2.node.dc1.consul");
  });

  it("answers NXDOMAIN with the SOA for an unknown query, a query without healthy instances and another datacenter", () => {
    for (const name of ["nope.query.consul", "nothing.query.consul", "web-v1.query.dc2.consul", "query.consul"]) {
      const response = ask(name, DNS_TYPE.A);
      expect(RCODE_NAMES[response.flags.rcode], name).toBe("NXDOMAIN");
      expect(response.authorities.map((r) => r.type)).toEqual([DNS_TYPE.SOA]);
    }
  });
});
