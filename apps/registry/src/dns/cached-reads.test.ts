import { describe, expect, it } from "vitest";
import type { RegistryCommand } from "../registry-contract.ts";
import { RegistryState } from "../state/registry-state.ts";
import { cachedReads } from "./cached-reads.ts";

function register(node: string, id: string, name: string): RegistryCommand {
  return { op: "catalog-register", node, address: "10.0.0.1", service: { id, service: name, address: "", port: 80, tags: [], meta: {} } };
}

describe("cachedReads", () => {
  it("computes the catalog lists once per applied index and sees every change", () => {
    let state = new RegistryState();
    let scans = 0;
    const counted = (): RegistryState => {
      const s = state;
      const original = s.serviceInstances.bind(s);
      s.serviceInstances = (name: string) => {
        scans += 1;
        return original(name);
      };
      return s;
    };
    state.apply(1, register("n1", "web-1", "web"), 0);
    counted();
    const reads = cachedReads(() => state);
    expect(reads.serviceInstances("web")).toHaveLength(1);
    expect(reads.serviceInstances("web")).toHaveLength(1);
    expect(scans).toBe(1);
    state.apply(2, register("n2", "web-2", "web"), 0);
    expect(reads.serviceInstances("web")).toHaveLength(2);
    expect(reads.services()).toEqual({ web: [] });
    expect(reads.nodes().map((n) => n.node)).toEqual(["n1", "n2"]);
    expect(scans).toBe(2);
    // A snapshot install replaces the state object (same index or not): the cache follows it.
    const restored = RegistryState.restore(state.snapshot());
    restored.apply(3, { op: "catalog-deregister", node: "n1" }, 0);
    state = restored;
    counted();
    expect(reads.serviceInstances("web").map((i) => i.service.id)).toEqual(["web-2"]);
    expect(reads.appliedIndex).toBe(3);
  });
});
