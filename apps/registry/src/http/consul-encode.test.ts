import { describe, expect, it } from "vitest";
import type { ServiceInstance } from "../registry-contract.ts";
import { encodeCatalogService, encodeCheck, encodeHealthEntry, encodeKvEntry, encodeSession, isPassing } from "./consul-encode.ts";

const instance: ServiceInstance = {
  node: { node: "n1", address: "10.0.0.1", meta: { rack: "r1" }, createIndex: 3, modifyIndex: 4 },
  service: { id: "web-1", service: "web", address: "", port: 80, tags: ["v1"], meta: { version: "v1" }, createIndex: 5, modifyIndex: 6 },
  checks: [
    { checkId: "serfHealth", name: "Serf", serviceId: undefined, status: "passing", output: "", type: "serf", node: "n1", createIndex: 3, modifyIndex: 3 },
    { checkId: "service:web-1", name: "web", serviceId: "web-1", status: "critical", output: "down", type: "http", http: "http://x", intervalMs: 10_000, node: "n1", createIndex: 5, modifyIndex: 7 },
  ],
};

describe("encodeKvEntry", () => {
  it("base64-encodes the value and adds Session only when locked", () => {
    const entry = { key: "k", value: new TextEncoder().encode("test"), flags: 1, createIndex: 2, modifyIndex: 3, lockIndex: 0, session: undefined };
    expect(encodeKvEntry(entry)).toEqual({ LockIndex: 0, Key: "k", Flags: 1, Value: "dGVzdA==", CreateIndex: 2, ModifyIndex: 3 });
    expect(encodeKvEntry({ ...entry, value: new Uint8Array(), session: "s" })).toMatchObject({ Value: null, Session: "s" });
  });
});

describe("encodeSession", () => {
  it("gives LockDelay in nanoseconds and TTL as a Go duration", () => {
    const session = { id: "s", name: "n", node: "n1", ttlMs: 30_000, lockDelayMs: 15_000, behavior: "release" as const, checks: ["serfHealth"], createIndex: 9 };
    expect(encodeSession(session)).toEqual({ ID: "s", Name: "n", Node: "n1", LockDelay: 15_000_000_000, Behavior: "release", TTL: "30s", NodeChecks: ["serfHealth"], ServiceChecks: null, CreateIndex: 9, ModifyIndex: 9 });
    expect(encodeSession({ ...session, ttlMs: 0 })).toMatchObject({ TTL: "" });
  });
});

describe("catalog and health shapes", () => {
  it("flattens a catalog service", () => {
    expect(encodeCatalogService(instance, "dc1")).toMatchObject({ Node: "n1", Address: "10.0.0.1", NodeMeta: { rack: "r1" }, ServiceID: "web-1", ServiceName: "web", ServiceTags: ["v1"], ServicePort: 80, ServiceMeta: { version: "v1" }, CreateIndex: 5, ModifyIndex: 6 });
  });
  it("nests a health entry, naming the service of service checks only", () => {
    const entry = encodeHealthEntry(instance, "dc1") as { Checks: Record<string, unknown>[] };
    expect(entry).toMatchObject({ Node: { Node: "n1", Datacenter: "dc1" }, Service: { ID: "web-1", Service: "web", Port: 80 } });
    expect(entry.Checks[0]).toMatchObject({ CheckID: "serfHealth", ServiceID: "", ServiceName: "", Type: "" });
    expect(entry.Checks[1]).toMatchObject({ CheckID: "service:web-1", ServiceName: "web", ServiceTags: ["v1"], Status: "critical", Output: "down", Type: "http", Interval: "10s", Definition: { HTTP: "http://x", Interval: "10s" } });
  });
  it("encodes a check without indexes (agent view)", () => {
    const [, serviceCheck] = instance.checks;
    if (serviceCheck === undefined) throw new Error("fixture has two checks");
    const { createIndex: _c, modifyIndex: _m, ...check } = serviceCheck;
    expect(encodeCheck(check, undefined)).not.toHaveProperty("CreateIndex");
  });
  it("?passing means every check passing", () => {
    expect(isPassing(instance.checks)).toBe(false);
    expect(isPassing(instance.checks.slice(0, 1))).toBe(true);
    expect(isPassing(instance.checks.map((check) => ({ ...check, status: "warning" as const })))).toBe(false);
  });
});
