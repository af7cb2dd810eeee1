import { describe, expect, it } from "vitest";
import type { RegistryCommand } from "../registry-contract.ts";
import { RegistryState } from "../state/registry-state.ts";
import { parseWatchKind, watchView } from "./watch-view.ts";

function set(key: string): RegistryCommand {
  return { op: "kv-set", key, value: Buffer.from(key).toString("base64") };
}

function service(node: string, id: string, name: string): RegistryCommand {
  return { op: "catalog-register", node, address: "10.0.0.1", service: { id, service: name, address: "", port: 80, tags: [], meta: {} } };
}

describe("watchView", () => {
  it("parses kinds without case and refuses others", () => {
    expect(["kv", "KV", "catalog", "Catalog", "", "health"].map(parseWatchKind)).toEqual(["kv", "kv", "catalog", "catalog", undefined, undefined]);
  });

  it("KV: the index moves only with writes and deletes under the prefix", () => {
    const state = new RegistryState();
    const view = watchView("kv", "a/");
    state.apply(1, set("a/1"), 0);
    state.apply(2, set("b/1"), 0);
    expect(view.index(state)).toBe(1);
    expect(view.snapshot(state).kvEntries.map((e) => e.key)).toEqual(["a/1"]);
    state.apply(3, { op: "kv-delete", key: "a/1" }, 0);
    expect(view.index(state)).toBe(3);
    expect(view.snapshot(state)).toEqual({ index: 3, kvEntries: [], serviceInstances: [], keepalive: false });
    state.apply(4, set("b/2"), 0);
    expect(view.index(state)).toBe(3);
  });

  it("catalog: follows services under the prefix, also after the last instance is gone", () => {
    const state = new RegistryState();
    const view = watchView("catalog", "web");
    expect(view.snapshot(state).index).toBe(1);
    state.apply(1, service("n1", "web-1", "web"), 0);
    state.apply(2, service("n1", "api-1", "api"), 0);
    state.apply(3, service("n2", "web-2", "webhooks"), 0);
    expect(view.index(state)).toBe(3);
    expect(view.snapshot(state).serviceInstances.map((i) => [i.serviceName, i.serviceId, i.health])).toEqual([
      ["web", "web-1", "passing"],
      ["webhooks", "web-2", "passing"],
    ]);
    state.apply(4, service("n3", "api-2", "api"), 0);
    expect(view.index(state)).toBe(3);
    state.apply(5, { op: "catalog-deregister", node: "n2", serviceId: "web-2" }, 0);
    expect(view.index(state)).toBe(5);
    expect(view.snapshot(state).serviceInstances.map((i) => i.serviceId)).toEqual(["web-1"]);
    state.apply(6, service("n3", "api-3", "api"), 0);
    expect(view.index(state)).toBe(5);
  });

  it("catalog with the empty prefix: every service, the catalog's index, without a services() scan per index", () => {
    const state = new RegistryState();
    const view = watchView("catalog", "");
    expect(view.snapshot(state)).toEqual({ index: 1, kvEntries: [], serviceInstances: [], keepalive: false });
    state.apply(1, service("n2", "web-1", "web"), 0);
    state.apply(2, service("n1", "api-1", "api"), 0);
    state.apply(3, set("a/1"), 0);
    expect(view.index(state)).toBe(2);
    let scans = 0;
    const counted = new Proxy(state, { get: (target, key) => (key === "services" ? () => (scans++, target.services()) : Reflect.get(target, key, target)) });
    expect(view.index(counted)).toBe(2);
    expect(view.snapshot(counted).serviceInstances.map((i) => [i.serviceName, i.serviceId])).toEqual([
      ["api", "api-1"],
      ["web", "web-1"],
    ]);
    expect(scans).toBe(0);
    state.apply(4, { op: "catalog-deregister", node: "n2", serviceId: "web-1" }, 0);
    expect(view.index(state)).toBe(4);
    expect(view.snapshot(state).serviceInstances.map((i) => i.serviceId)).toEqual(["api-1"]);
  });
});
