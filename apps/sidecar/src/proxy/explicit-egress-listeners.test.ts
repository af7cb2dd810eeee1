import type { EgressListener } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { describe, expect, it } from "vitest";
import { ExplicitEgressListeners, type Draining } from "./explicit-egress-listeners.ts";

const listener = (port: number, protocol: "http" | "tcp", hosts: string[] = []): EgressListener => ({
  name: `egress 127.0.0.1:${port}`,
  bind: "127.0.0.1",
  port,
  protocol,
  hosts,
  gateway: `sidecar-egress 127.0.0.1:${port}`,
});

/** A manager whose listeners are records of what was opened and drained. */
function manager(failing = new Set<number>()) {
  const events: string[] = [];
  const entries = new Map<number, { listener: EgressListener }>();
  const egress = new ExplicitEgressListeners<Draining>({
    logger: createLogger({ name: "test", level: "error", write: () => undefined }),
    drainMs: 0,
    isDraining: () => false,
    open: (entry) => {
      if (failing.has(entry.listener.port)) return Promise.reject(new Error("EADDRINUSE"));
      events.push(`open ${entry.listener.protocol} ${entry.listener.port}`);
      entries.set(entry.listener.port, entry);
      return Promise.resolve({ drain: () => Promise.resolve(void events.push(`drain ${entry.listener.protocol} ${entry.listener.port}`)) });
    },
    opened: () => undefined,
    closed: () => undefined,
  });
  return { egress, events, entries };
}

describe("ExplicitEgressListeners", () => {
  it("opens new listeners, updates open ones in place, and drains dropped ones", async () => {
    const { egress, events, entries } = manager();
    await egress.apply([listener(9080, "http", ["a"]), listener(5432, "tcp", ["db"])]);
    await egress.apply([listener(9080, "http", ["a", "b"])]);
    expect(events).toEqual(["open http 9080", "open tcp 5432", "drain tcp 5432"]);
    expect(entries.get(9080)?.listener.hosts).toEqual(["a", "b"]);
    expect(egress.boundPorts).toEqual({ "egress-9080": 9080 });
  });

  it("rebinds a listener whose protocol changed: the old one drains before the new one opens", async () => {
    const { egress, events } = manager();
    await egress.apply([listener(9080, "http")]);
    await egress.apply([listener(9080, "tcp")]);
    expect(events).toEqual(["open http 9080", "drain http 9080", "open tcp 9080"]);
  });

  it("keeps serving the others when one cannot bind, and retries it on the next config", async () => {
    const failing = new Set([7000]);
    const { egress, events } = manager(failing);
    await egress.apply([listener(7000, "http"), listener(7001, "http")]);
    expect(egress.boundPorts).toEqual({ "egress-7001": 7001 });
    failing.clear();
    await egress.apply([listener(7000, "http"), listener(7001, "http")]);
    expect(events).toEqual(["open http 7001", "open http 7000"]);
  });
});
