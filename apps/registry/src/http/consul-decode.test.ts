import { describe, expect, it } from "vitest";
import { parseAgentService, parseCatalogDeregister, parseCatalogRegister, parseCheckDefinition, parseCheckUpdate, parseSessionCreate, parseTxnOps } from "./consul-decode.ts";
import { JsonFields } from "./json-fields.ts";

describe("parseTxnOps", () => {
  it("maps Consul's KV verbs to txn ops", () => {
    expect(
      parseTxnOps([
        { KV: { Verb: "set", Key: "a", Value: "YQ==", Flags: 2 } },
        { KV: { Verb: "cas", Key: "a", Value: "", Index: 5 } },
        { KV: { Verb: "lock", Key: "l", Value: "", Session: "s1" } },
        { KV: { Verb: "check-session", Key: "l", Session: "s1" } },
        { KV: { Verb: "delete-tree", Key: "" } },
        { kv: { verb: "get", key: "a" } },
      ]),
    ).toEqual([
      { verb: "set", key: "a", value: "YQ==", flags: 2 },
      { verb: "cas", key: "a", value: "", index: 5 },
      { verb: "lock", key: "l", value: "", session: "s1" },
      { verb: "check-session", key: "l", session: "s1" },
      { verb: "delete-tree", key: "" },
      { verb: "get", key: "a" },
    ]);
  });
  it("names the op and field that are wrong", () => {
    expect(() => parseTxnOps({})).toThrow(/JSON array/);
    expect(() => parseTxnOps([{ KV: { Verb: "lock", Key: "l" } }])).toThrow(/op\[0\]\.KV\.Session is required/);
    expect(() => parseTxnOps([{ KV: { Verb: "set", Key: "" } }])).toThrow(/op\[0\]\.KV\.Key is required/);
    expect(() => parseTxnOps([{ KV: { Verb: "set", Key: "k", Flags: -1 } }])).toThrow(/op\[0\]\.KV\.Flags/);
    expect(() => parseTxnOps(Array.from({ length: 129 }, () => ({ KV: { Verb: "get", Key: "k" } })))).toThrow(/too many operations/);
  });
});

describe("parseSessionCreate", () => {
  it("applies Consul's defaults (release, 15s lock delay, agent node, no TTL)", () => {
    expect(parseSessionCreate({}, { id: "id-1", defaultNode: "n1" })).toEqual({ op: "session-create", id: "id-1", name: "", node: "n1", ttlMs: 0, lockDelayMs: 15_000, behavior: "release", checks: [] });
  });
  it("reads TTL, LockDelay as duration or number, behavior and checks", () => {
    const command = parseSessionCreate({ Name: "x", TTL: "1m", LockDelay: 3, Behavior: "delete", NodeChecks: ["serfHealth"] }, { id: "i", defaultNode: "n" });
    expect(command).toMatchObject({ ttlMs: 60_000, lockDelayMs: 3000, behavior: "delete", checks: ["serfHealth"] });
    expect(parseSessionCreate({ LockDelay: 2_000_000_000 }, { id: "i", defaultNode: "n" }).lockDelayMs).toBe(2000);
    expect(parseSessionCreate({ LockDelay: "250ms" }, { id: "i", defaultNode: "n" }).lockDelayMs).toBe(250);
  });
  it("rejects a TTL out of Consul's range", () => {
    expect(() => parseSessionCreate({ TTL: "5s" }, { id: "i", defaultNode: "n" })).toThrow(/between \[10s=24h0m0s\]/);
    expect(() => parseSessionCreate({ TTL: "25h" }, { id: "i", defaultNode: "n" })).toThrow(/TTL/);
  });
});

describe("parseCheckDefinition", () => {
  const options = { defaultId: "", defaultName: "", serviceId: undefined, allowPassive: false };
  it("reads an HTTP check with durations and snake_case fields", () => {
    const check = parseCheckDefinition(new JsonFields({ ID: "web", Name: "web", HTTP: "http://localhost/health", Interval: "10s", Timeout: "1s", deregister_critical_service_after: "1m" }, "check"), options);
    expect(check).toEqual({ checkId: "web", name: "web", serviceId: undefined, status: "critical", output: "", type: "http", http: "http://localhost/health", intervalMs: 10_000, timeoutMs: 1000, deregisterCriticalAfterMs: 60_000 });
  });
  it("takes the catalog's Definition block and allows passive checks there", () => {
    const check = parseCheckDefinition(new JsonFields({ CheckID: "c", Name: "n", Status: "passing", Definition: { TCP: "127.0.0.1:80", Interval: "5s" } }, "check"), { ...options, allowPassive: true });
    expect(check).toMatchObject({ type: "tcp", tcp: "127.0.0.1:80", intervalMs: 5000, status: "passing" });
    expect(parseCheckDefinition(new JsonFields({ CheckID: "serfHealth", Name: "Serf" }, "check"), { ...options, allowPassive: true }).type).toBe("serf");
  });
  it("refuses a check that nothing would run, a missing interval, a bad status", () => {
    expect(() => parseCheckDefinition(new JsonFields({ ID: "c", Name: "n" }, "check"), options)).toThrow(/TTL, HTTP, TCP or GRPC/);
    expect(() => parseCheckDefinition(new JsonFields({ ID: "c", Name: "n", GRPC: "x:1" }, "check"), options)).toThrow(/Interval is required for GRPC/);
    expect(() => parseCheckDefinition(new JsonFields({ ID: "c", Name: "n", TTL: "1s", Status: "ok" }, "check"), options)).toThrow(/Status "ok"/);
  });
});

describe("parseAgentService", () => {
  it("names checks service:<id> and service:<id>:<n> as Consul does", () => {
    const one = parseAgentService({ Name: "web", Port: 80, Check: { TTL: "10s" } });
    expect(one.service).toEqual({ id: "web", service: "web", address: "", port: 80, tags: [], meta: {} });
    expect(one.checks.map((c) => [c.checkId, c.name, c.serviceId])).toEqual([["service:web", "Service 'web' check", "web"]]);
    const two = parseAgentService({ ID: "w1", Name: "web", Checks: [{ TTL: "10s" }, { TCP: "h:1", Interval: "1s" }] });
    expect(two.checks.map((c) => c.checkId)).toEqual(["service:w1:1", "service:w1:2"]);
  });
  it("refuses a missing name and a bad port", () => {
    expect(() => parseAgentService({ Port: 1 })).toThrow(/Missing service name/);
    expect(() => parseAgentService({ Name: "x", Port: 70000 })).toThrow(/Port 70000/);
    expect(() => parseAgentService({ Name: "x", Tags: "a" })).toThrow(/Tags must be an array of strings/);
  });
});

describe("catalog bodies", () => {
  it("parses a register with service and checks", () => {
    expect(parseCatalogRegister({ Node: "n", Address: "10.0.0.1", NodeMeta: { a: "b" }, Service: { Service: "s", Port: 1 }, Check: { CheckID: "c", Name: "c", ServiceID: "s" } })).toEqual({
      op: "catalog-register",
      node: "n",
      address: "10.0.0.1",
      nodeMeta: { a: "b" },
      service: { id: "s", service: "s", address: "", port: 1, tags: [], meta: {} },
      checks: [{ checkId: "c", name: "c", serviceId: "s", status: "passing", output: "", type: "serf" }],
    });
  });
  it("parses a deregister of a node, service or check", () => {
    expect(parseCatalogDeregister({ Node: "n" })).toEqual({ op: "catalog-deregister", node: "n" });
    expect(parseCatalogDeregister({ Node: "n", ServiceID: "s" })).toEqual({ op: "catalog-deregister", node: "n", serviceId: "s" });
    expect(() => parseCatalogDeregister({})).toThrow(/Must provide node/);
  });
  it("parses a check update", () => {
    expect(parseCheckUpdate({ Status: "warning", Output: "slow" })).toEqual({ status: "warning", output: "slow" });
    expect(() => parseCheckUpdate({})).toThrow(/Missing Status/);
  });
});
