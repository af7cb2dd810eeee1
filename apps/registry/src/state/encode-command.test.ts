import { describe, expect, it } from "vitest";
import type { RegistryCommand } from "../registry-contract.ts";
import { CommandDecodeError, decodeEntry, encodeEntry, parseCommand, restampEntry } from "./encode-command.ts";

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

const examples: RegistryCommand[] = [
  { op: "kv-set", key: "a/b", value: "aGk=", flags: 3, cas: 0 },
  { op: "kv-set", key: "lock", value: "", acquire: "s1" },
  { op: "kv-set", key: "lock", value: "", release: "s1" },
  { op: "kv-delete", key: "a/", recurse: true },
  { op: "kv-delete", key: "a", cas: 7 },
  {
    op: "txn",
    ops: [
      { verb: "set", key: "a", value: "eA==" },
      { verb: "cas", key: "a", value: "eA==", index: 3, flags: 1 },
      { verb: "lock", key: "a", value: "eA==", session: "s" },
      { verb: "unlock", key: "a", value: "eA==", session: "s" },
      { verb: "get", key: "a" },
      { verb: "get-tree", key: "a/" },
      { verb: "check-index", key: "a", index: 3 },
      { verb: "check-session", key: "a", session: "s" },
      { verb: "check-not-exists", key: "b" },
      { verb: "delete", key: "a" },
      { verb: "delete-tree", key: "a/" },
      { verb: "delete-cas", key: "a", index: 4 },
    ],
  },
  { op: "session-create", id: "0b5c…", name: "lock", node: "n1", ttlMs: 15_000, lockDelayMs: 15_000, behavior: "delete", checks: ["serfHealth"] },
  { op: "session-destroy", id: "s" },
  {
    op: "catalog-register",
    node: "n1",
    address: "10.0.0.1",
    nodeMeta: { zone: "a" },
    service: { id: "web-1", service: "web", address: "10.0.0.1", port: 8080, tags: ["v1"], meta: { app: "web", version: "v1" } },
    checks: [
      { checkId: "web-http", name: "HTTP", serviceId: "web-1", status: "passing", output: "", type: "http", http: "http://10.0.0.1:8080/", intervalMs: 10_000, timeoutMs: 1000, deregisterCriticalAfterMs: 60_000 },
      { checkId: "ttl", name: "TTL", serviceId: undefined, status: "critical", output: "", type: "ttl", ttlMs: 30_000 },
    ],
  },
  { op: "catalog-deregister", node: "n1", serviceId: "web-1" },
  { op: "catalog-deregister", node: "n1" },
  { op: "check-update", node: "n1", checkId: "ttl", status: "warning", output: "slow" },
  {
    op: "query-set",
    create: true,
    query: {
      id: "8f246b77-f3e1-4f88-9b48-8ec93abf3e05",
      name: "geo-db",
      session: "",
      token: "t",
      template: { type: "name_prefix_match", regexp: "^geo-db-(.*)$", removeEmptyTags: true },
      service: { service: "${match(1)}", failover: { nearestN: 2, datacenters: ["dc2"] }, onlyPassing: true, ignoreCheckIds: ["serfHealth"], near: "_agent", tags: ["!canary"], nodeMeta: { zone: "a" }, serviceMeta: {} },
      dns: { ttl: "10s" },
    },
  },
  { op: "query-delete", id: "8f246b77-f3e1-4f88-9b48-8ec93abf3e05" },
];

describe("encodeEntry / decodeEntry", () => {
  it.each(examples.map((command) => [command.op, command] as const))("round-trips %s", (_op, command) => {
    expect(decodeEntry(encodeEntry({ command, nowMs: 1_700_000_000_000 }))).toEqual({ command, nowMs: 1_700_000_000_000 });
  });

  it("carries a follower's request id (origin) when given, and refuses an empty one", () => {
    const command: RegistryCommand = { op: "session-destroy", id: "s" };
    expect(decodeEntry(encodeEntry({ command, nowMs: 5, origin: "n2/abc/w7" }))).toStrictEqual({ command, nowMs: 5, origin: "n2/abc/w7" });
    expect(() => decodeEntry(bytesOf('{"v":1,"nowMs":1,"command":{"op":"session-destroy","id":"s"},"origin":""}'))).toThrow(/entry.origin must be a non-empty string/);
  });

  it("restampEntry replaces the clock reading and keeps the rest, for any number of digits", () => {
    const command: RegistryCommand = { op: "kv-set", key: "a,b", value: "AAEC" };
    for (const [from, to] of [[1_700_000_000_000, 1_800_000_000_123], [7, 1_700_000_000_000], [1_700_000_000_000, 0]] as const) {
      const stamped = restampEntry(encodeEntry({ command, nowMs: from, origin: "n1/x/w1" }), to);
      expect(decodeEntry(stamped)).toStrictEqual({ command, nowMs: to, origin: "n1/x/w1" });
    }
    const foreign = bytesOf('{"nowMs":1,"v":1,"command":{}}');
    expect(restampEntry(foreign, 9)).toBe(foreign);
    expect(() => restampEntry(foreign, -1)).toThrow(RangeError);
  });

  it("drops fields a command does not have", () => {
    const bytes = bytesOf(JSON.stringify({ v: 1, nowMs: 1, command: { op: "session-destroy", id: "s", extra: true } }));
    expect(decodeEntry(bytes)).toStrictEqual({ nowMs: 1, command: { op: "session-destroy", id: "s" } });
  });

  it.each([
    ["not UTF-8", new Uint8Array([0xff, 0xfe, 0x00]), /is not UTF-8/],
    ["not JSON", bytesOf("{oops"), /registry entry is not JSON .*\{oops/],
    ["not an object", bytesOf("[1]"), /must be a JSON object/],
    ["a future version", bytesOf('{"v":2,"nowMs":1,"command":{}}'), /version 2; this build reads version 1: upgrade the node/],
    ["a bad clock", bytesOf('{"v":1,"nowMs":-1,"command":{}}'), /entry.nowMs must be a non-negative integer/],
    ["an unknown op", bytesOf('{"v":1,"nowMs":1,"command":{"op":"kv-put"}}'), /command.op "kv-put" is not a registry command: use one of kv-set/],
    ["a missing key", bytesOf('{"v":1,"nowMs":1,"command":{"op":"kv-set","value":""}}'), /command.key must be a string, got nothing/],
    ["a value that is not base64", bytesOf('{"v":1,"nowMs":1,"command":{"op":"kv-set","key":"a","value":"hello"}}'), /command.value must be padded standard base64/],
    ["a fractional cas", bytesOf('{"v":1,"nowMs":1,"command":{"op":"kv-set","key":"a","value":"","cas":1.5}}'), /command.cas must be a non-negative integer, got 1.5/],
    ["an unknown txn verb", bytesOf('{"v":1,"nowMs":1,"command":{"op":"txn","ops":[{"verb":"get"},{"verb":"put","key":"a"}]}}'), /command.ops\[0\].key must be a string/],
    ["a bad behavior", bytesOf('{"v":1,"nowMs":1,"command":{"op":"session-create","id":"s","name":"","node":"n","ttlMs":0,"lockDelayMs":0,"behavior":"keep","checks":[]}}'), /command.behavior must be "release" or "delete", got "keep"/],
    ["a bad status", bytesOf('{"v":1,"nowMs":1,"command":{"op":"check-update","node":"n","checkId":"c","status":"ok","output":""}}'), /command.status must be "passing", "warning" or "critical", got "ok"/],
    ["a bad port", bytesOf('{"v":1,"nowMs":1,"command":{"op":"catalog-register","node":"n","address":"a","service":{"id":"s","service":"s","address":"","port":70000,"tags":[],"meta":{}}}}'), /command.service.port must be a port number 0-65535, got 70000/],
    ["a non-string meta value", bytesOf('{"v":1,"nowMs":1,"command":{"op":"catalog-register","node":"n","address":"a","nodeMeta":{"zone":1}}}'), /command.nodeMeta.zone must be a string, got 1/],
    ["a bad check type", bytesOf('{"v":1,"nowMs":1,"command":{"op":"catalog-register","node":"n","address":"a","checks":[{"checkId":"c","name":"","status":"passing","output":"","type":"script"}]}}'), /command.checks\[0\].type must be one of http, tcp, grpc, ttl, serf, got "script"/],
    ["a query without its service", bytesOf('{"v":1,"nowMs":1,"command":{"op":"query-set","create":true,"query":{"id":"q","name":"","session":"","token":"","template":{"type":"","regexp":"","removeEmptyTags":false},"dns":{"ttl":""}}}}'), /command.query.service must be an object, got undefined/],
    ["a query template of another type", bytesOf('{"v":1,"nowMs":1,"command":{"op":"query-set","create":true,"query":{"id":"q","name":"","session":"","token":"","template":{"type":"regex","regexp":"","removeEmptyTags":false}}}}'), /command.query.template.type must be "" or "name_prefix_match", got "regex"/],
  ])("refuses %s with a clear error", (_what, bytes, message) => {
    expect(() => decodeEntry(bytes)).toThrow(CommandDecodeError);
    expect(() => decodeEntry(bytes)).toThrow(message);
  });

  it("encodeEntry validates too, so a leader never proposes garbage", () => {
    expect(() => encodeEntry({ command: { op: "kv-set", key: "a", value: "not base64!" }, nowMs: 0 })).toThrow(/command.value must be padded standard base64/);
    expect(() => parseCommand({ op: "txn", ops: [{ verb: "lock", key: "a", value: "" }] })).toThrow(/command.ops\[0\].session must be a string/);
  });
});
