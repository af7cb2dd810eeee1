// Wraps a RegistryServer so every write is counted in the metrics by where it was proposed
// (this server leading: local; else forwarded to the leader) and its outcome; everything else
// passes through to the node unchanged.
import type { RegistryServer } from "../registry-contract.ts";
import type { RegistryMetrics } from "./registry-metrics.ts";

/**
 * `server` with `write` counted. `via` is judged when the write ends (a write that waited out an
 * election and was then proposed here counts as local; a leadership change during a forward is not seen).
 */
export function countWrites(server: RegistryServer, metrics: Pick<RegistryMetrics, "observeWrite">): RegistryServer {
  const via = () => (server.isLeader ? "local" : "forwarded");
  const write: RegistryServer["write"] = async (command) => {
    try {
      const result = await server.write(command);
      metrics.observeWrite(via(), result.ok ? "ok" : "refused");
      return result;
    } catch (error) {
      metrics.observeWrite(via(), "error");
      throw error;
    }
  };
  // Methods bound once each (a bind per property read was garbage on every request).
  const bound = new Map<PropertyKey, { readonly method: unknown; readonly bound: unknown }>();
  return new Proxy(server, {
    get(target, property) {
      if (property === "write") return write;
      // Getters and methods run on the node itself (its fields stay its own).
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      const known = bound.get(property);
      if (known !== undefined && known.method === value) return known.bound;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      bound.set(property, { method: value, bound: method });
      return method;
    },
  });
}
