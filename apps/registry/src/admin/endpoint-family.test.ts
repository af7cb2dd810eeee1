import { describe, expect, it } from "vitest";
import { endpointFamily } from "./endpoint-family.ts";

describe("endpointFamily", () => {
  it.each([
    ["/v1/kv/config/app/x", "kv"],
    ["/v1/kv/", "kv"],
    ["/v1/txn", "txn"],
    ["/v1/catalog/service/web", "catalog/service"],
    ["/v1/health/service/web", "health/service"],
    ["/v1/agent/check/pass/service:web", "agent/check"],
    ["/v1/status/leader", "status/leader"],
    ["/v1/operator/raft/configuration", "operator/raft"],
    ["/v1/session/info/0b6e2a9c-1f1d-4d8e-b1a3-2f0c9d4f3e21", "session/info"],
    ["/v1/catalog/WEIRD_Verb", "catalog"],
    ["/v1/events/fire", "other"],
    ["/v1/event/fire/deploy", "event/fire"],
    ["/v1/event/list", "event/list"],
    ["/v1/query", "query"],
    ["/v1/query/8f246b77-f3e1-ff88-5b48-8ec93abf3e05", "query"],
    ["/v1/query/my-query/execute", "query/execute"],
    ["/v1/query/geo/db/explain", "query/explain"],
    ["/v1/query/execute", "query"],
    ["/v1/snapshot", "snapshot"],
    ["/metrics", "other"],
    ["/", "other"],
  ])("%s → %s", (path, family) => {
    expect(endpointFamily(path)).toBe(family);
  });
});
