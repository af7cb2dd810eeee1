import { compileRateLimits, compileRetryPolicy, type InboundPort } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { describe, expect, it } from "vitest";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import type { HttpListener } from "./http-listener.ts";
import { InboundHttpListeners, type InboundPortListener } from "./inbound-http-listeners.ts";
import { buildInboundTargets, type InboundTargets } from "./inbound-targets.ts";

function port(name: string, targetPort: number, protocol: InboundPort["protocol"]): InboundPort {
  return { port: targetPort - 10000, targetPort, portName: name, protocol, cluster: `inbound|${targetPort}||`, host: "multi.default.svc.cluster.local" };
}

function targets(...ports: InboundPort[]): InboundTargets {
  return mappedTargets(new Map(), ...ports);
}

/** The targets of `ports` with --inbound-port-map `portMap`. */
function mappedTargets(portMap: ReadonlyMap<number, number>, ...ports: InboundPort[]): InboundTargets {
  return buildInboundTargets(
    { inbound: ports },
    {
      appPort: undefined,
      appHost: "127.0.0.1",
      pools: new PoolRegistry(),
      nowMs: 0,
      retries: compileRetryPolicy({ attempts: 0 }),
      limitsFor: (p) => compileRateLimits([], { namespace: "default", labels: {}, port: p }),
      modeFor: () => "PERMISSIVE",
      portMap,
    },
    undefined,
  );
}

/** A listener stand-in: records where it listened and whether it drained; `refuse` makes listen fail (port in use). */
interface FakeListener {
  listenedOn: string | undefined;
  drained: boolean;
}

function harness(bind: string, refuse: ReadonlySet<number> = new Set()) {
  const lines: string[] = [];
  const listeners = new Map<number, FakeListener>();
  /** The entries create() got: what each listener's requests read. */
  const entries = new Map<number, InboundPortListener>();
  const events: string[] = [];
  let draining = false;
  const manager = new InboundHttpListeners({
    bind,
    appHost: "127.0.0.1",
    logger: createLogger({ name: "test", level: "debug", write: (line) => void lines.push(line) }),
    drainMs: 0,
    isDraining: () => draining,
    create: (entry: InboundPortListener) => {
      const fake: FakeListener = { listenedOn: undefined, drained: false };
      listeners.set(entry.listenPort, fake);
      entries.set(entry.listenPort, entry);
      const listener = {
        listen: (p: number, host: string): Promise<number> => {
          if (refuse.has(p)) return Promise.reject(new Error("EADDRINUSE"));
          fake.listenedOn = `${host}:${p}`;
          return Promise.resolve(p);
        },
        drain: (): Promise<void> => {
          fake.drained = true;
          return Promise.resolve();
        },
      };
      return listener as unknown as HttpListener;
    },
    opened: (entry) => void events.push(`opened ${entry.name}`),
    closed: (entry) => void events.push(`closed ${entry.name}`),
  });
  return {
    manager,
    lines,
    listeners,
    entries,
    events,
    drainNow: () => {
      draining = true;
    },
  };
}

const web = port("http-web", 18080, "http");
const grpc = port("grpc", 19090, "grpc");

describe("InboundHttpListeners", () => {
  it("opens a listener per HTTP port on --bind at its targetPort, except the --inbound-port listener's own port", async () => {
    const h = harness("127.0.0.5");
    await h.manager.apply(targets(web, grpc, port("main", 15006, "http")), 15006);
    expect([...h.listeners.entries()].map(([p, l]) => [p, l.listenedOn])).toEqual([
      [18080, "127.0.0.5:18080"],
      [19090, "127.0.0.5:19090"],
    ]);
    expect(h.events).toEqual(["opened inbound-http http-web", "opened inbound-http grpc"]);
    expect(h.manager.boundPorts).toEqual({ "inbound-http-http-web": 18080, "inbound-http-grpc": 19090 });
  });

  it("gives open listeners the new config's targets at once, and closes the listener of a port the config dropped", async () => {
    const h = harness("127.0.0.5");
    await h.manager.apply(targets(web, grpc), 15006);
    const second = targets(web, { ...grpc, protocol: "http", portName: "http-api" });
    const applying = h.manager.apply(second, 15006);
    // Synchronously, before any await: the listener's next request sees the new config's target.
    expect(h.entries.get(19090)?.target).toBe(second.byTargetPort.get(19090));
    expect(h.entries.get(18080)?.target).toBe(second.main);
    await applying;
    expect(h.listeners.size).toBe(2);
    await h.manager.apply(targets(web), 15006);
    expect(h.listeners.get(19090)?.drained).toBe(true);
    expect(h.listeners.get(18080)?.drained).toBe(false);
    expect(h.events.at(-1)).toBe("closed inbound-http grpc");
    expect(h.manager.boundPorts).toEqual({ "inbound-http-http-web": 18080 });
  });

  it("on the application's own address (or a wildcard) opens nothing and says so once per port", async () => {
    for (const bind of ["127.0.0.1", "0.0.0.0"]) {
      const h = harness(bind);
      await h.manager.apply(targets(web, grpc), 15006);
      await h.manager.apply(targets(web, grpc), 15006);
      expect(h.listeners.size).toBe(0);
      const notes = h.lines.filter((l) => l.includes("inbound HTTP port served on the inbound listener only"));
      expect(notes).toHaveLength(2);
      expect(notes[0]).toContain("--app-host");
    }
  });

  it("a port that cannot be bound is logged with the fix and the others still open; nothing opens once draining", async () => {
    const h = harness("127.0.0.5", new Set([18080]));
    await h.manager.apply(targets(web, grpc), 15006);
    expect(h.events).toEqual(["opened inbound-http grpc"]);
    expect(h.lines.some((l) => l.includes("cannot listen on an inbound HTTP port") && l.includes("18080"))).toBe(true);
    const late = harness("127.0.0.5");
    late.drainNow();
    await late.manager.apply(targets(web), 15006);
    expect(late.listeners.size).toBe(0);
  });

  it("under capture (a wildcard bind) opens the mapped ports' listeners, each serving its own application port", async () => {
    const h = harness("0.0.0.0");
    const mapped = mappedTargets(new Map([[18080, 15100], [19090, 15101]]), web, grpc, port("metrics", 19100, "http"));
    await h.manager.apply(mapped, 15006);
    expect([...h.listeners.entries()].map(([p, l]) => [p, l.listenedOn])).toEqual([
      [15100, "0.0.0.0:15100"],
      [15101, "0.0.0.0:15101"],
    ]);
    expect(h.entries.get(15101)?.target.appPort).toBe(19090);
    expect(h.entries.get(15100)?.target).toBe(mapped.main);
    expect(h.manager.boundPorts).toEqual({ "inbound-http-http-web": 15100, "inbound-http-grpc": 15101 });
    // The unmapped port still cannot listen on the application's own address: said once.
    expect(h.lines.filter((l) => l.includes("inbound HTTP port served on the inbound listener only"))).toHaveLength(1);
    // A config without the grpc port closes its mapped listener.
    await h.manager.apply(mappedTargets(new Map([[18080, 15100], [19090, 15101]]), web), 15006);
    expect(h.listeners.get(15101)?.drained).toBe(true);
    expect(h.listeners.get(15100)?.drained).toBe(false);
  });
});
