import { compileRateLimits, compileRetryPolicy, type InboundPort, type MtlsMode, type RateLimitTable } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import { buildInboundTargets, meshSniKey, parseInboundPortMap, targetForServerName, type InboundTargetOptions, type InboundTargets } from "./inbound-targets.ts";

const host = "multi.default.svc.cluster.local";

function port(name: string, servicePort: number, targetPort: number, protocol: InboundPort["protocol"], serviceHost = host): InboundPort {
  return { port: servicePort, targetPort, portName: name, protocol, cluster: `inbound|${targetPort}||`, host: serviceHost };
}

const web = port("http-web", 8080, 18080, "http");
const grpc = port("grpc-api", 9090, 19090, "grpc");
const sniffed = port("metrics", 9100, 19100, "unknown");
const db = port("tcp-db", 5432, 15432, "tcp");

const retries = compileRetryPolicy({ attempts: 0 });

/** Options with --app-port `appPort`; `seen` records what limitsFor and modeFor were asked. */
function options(appPort: number | undefined, seen: { limits: [number, RateLimitTable | undefined][]; modes: number[] } = { limits: [], modes: [] }): InboundTargetOptions {
  return {
    appPort,
    appHost: "127.0.0.1",
    pools: new PoolRegistry(),
    nowMs: 0,
    retries,
    limitsFor: (servicePort, previous) => {
      seen.limits.push([servicePort, previous]);
      return compileRateLimits([], { namespace: "default", labels: {}, port: servicePort });
    },
    modeFor: (appPortAsked): MtlsMode => {
      seen.modes.push(appPortAsked);
      return appPortAsked === 19090 ? "STRICT" : "PERMISSIVE";
    },
  };
}

function upstreamOf(targets: InboundTargets, targetPort: number): { cluster: string; app: string; http2: boolean; clientProtocol: boolean } {
  const target = targets.byTargetPort.get(targetPort);
  if (target === undefined) throw new Error(`no target for ${targetPort}`);
  const spec = target.cluster.spec;
  return { cluster: spec.name, app: spec.endpoints[0]?.address ?? "", http2: spec.upstreamHttp2, clientProtocol: spec.useClientProtocol };
}

describe("buildInboundTargets", () => {
  it("--app-port alone: one HTTP/1.1 cluster to the application, nothing to choose by SNI", () => {
    const targets = buildInboundTargets({ inbound: [] }, options(18000), undefined);
    expect(targets.main?.cluster.spec).toMatchObject({ name: "inbound|18000||", upstreamHttp2: false, useClientProtocol: false, protocol: "http" });
    expect(targets.main?.cluster.spec.endpoints[0]?.address).toBe("127.0.0.1:18000");
    expect(targets.main?.decision).toMatchObject({ type: "forward", cluster: targets.main?.cluster, retries, routeName: "default" });
    expect(targets.byTargetPort.size).toBe(0);
    expect(targets.byService.size).toBe(0);
    expect(targets.clusters.map((c) => c.name)).toEqual(["inbound|18000||"]);
  });

  it("no --app-port and no HTTP port: nothing to serve", () => {
    const targets = buildInboundTargets({ inbound: [db] }, options(undefined), undefined);
    expect(targets.main).toBeUndefined();
    expect(targets.clusters).toEqual([]);
  });

  it("one cluster per HTTP port, each speaking the port's protocol to its own application port; TCP ports are left to their listeners", () => {
    const targets = buildInboundTargets({ inbound: [web, db, grpc, sniffed] }, options(undefined), undefined);
    expect(upstreamOf(targets, 18080)).toEqual({ cluster: "inbound|18080||", app: "127.0.0.1:18080", http2: false, clientProtocol: false });
    expect(upstreamOf(targets, 19090)).toEqual({ cluster: "inbound|19090||", app: "127.0.0.1:19090", http2: true, clientProtocol: false });
    expect(upstreamOf(targets, 19100)).toEqual({ cluster: "inbound|19100||", app: "127.0.0.1:19100", http2: false, clientProtocol: true });
    expect(targets.byTargetPort.has(15432)).toBe(false);
    expect(targets.main).toBe(targets.byTargetPort.get(18080));
    expect(targets.clusters.map((c) => c.name)).toEqual(["inbound|18080||", "inbound|19090||", "inbound|19100||"]);
    expect(targets.byTargetPort.get(19090)?.mode).toBe("STRICT");
    expect(targets.main?.mode).toBe("PERMISSIVE");
  });

  it("--app-port picks the port it is the target of as main; one that is none keeps the first port's protocol on the --app-port cluster", () => {
    const onGrpc = buildInboundTargets({ inbound: [web, grpc] }, options(19090), undefined);
    expect(onGrpc.main).toBe(onGrpc.byTargetPort.get(19090));
    expect(onGrpc.main?.port).toBe(grpc);
    const elsewhere = buildInboundTargets({ inbound: [web, grpc] }, options(18000), undefined);
    expect(elsewhere.main?.cluster.spec).toMatchObject({ name: "inbound|18000||", portName: "http-web", upstreamHttp2: false });
    expect(elsewhere.main?.port).toBe(web);
    // The first port's own listener serves main too: --app-port is where that port's application listens.
    expect(elsewhere.byTargetPort.get(18080)).toBe(elsewhere.main);
    expect(upstreamOf(elsewhere, 19090).app).toBe("127.0.0.1:19090");
  });

  it("rate limits are compiled per service port (--app-port without one) with the port's previous table; modes per application port", () => {
    const seen = { limits: [] as [number, RateLimitTable | undefined][], modes: [] as number[] };
    const first = buildInboundTargets({ inbound: [web, grpc] }, options(undefined, seen), undefined);
    expect(seen.limits.map(([p, previous]) => [p, previous])).toEqual([
      [8080, undefined],
      [9090, undefined],
    ]);
    expect(seen.modes).toEqual([18080, 19090]);
    seen.limits.length = 0;
    buildInboundTargets({ inbound: [web, grpc] }, options(undefined, seen), first);
    expect(seen.limits[0]?.[1]).toBe(first.main?.limits);
    expect(seen.limits[1]?.[1]).toBe(first.byTargetPort.get(19090)?.limits);
    seen.limits.length = 0;
    buildInboundTargets({ inbound: [] }, options(18000, seen), undefined);
    expect(seen.limits.map(([p]) => p)).toEqual([18000]);
  });

  it("a new config keeps unchanged clusters and decisions and replaces a cluster whose protocol changed", () => {
    const shared = options(undefined);
    const first = buildInboundTargets({ inbound: [web, grpc] }, shared, undefined);
    const second = buildInboundTargets({ inbound: [web, grpc] }, shared, first);
    expect(second.main).not.toBe(first.main);
    expect(second.main?.cluster).toBe(first.main?.cluster);
    expect(second.main?.decision).toBe(first.main?.decision);
    expect(second.byTargetPort.get(19090)?.cluster).toBe(first.byTargetPort.get(19090)?.cluster);
    const asHttp = buildInboundTargets({ inbound: [web, { ...grpc, protocol: "http", portName: "http-api" }] }, shared, second);
    expect(asHttp.byTargetPort.get(19090)?.cluster).not.toBe(second.byTargetPort.get(19090)?.cluster);
    expect(asHttp.byTargetPort.get(19090)?.cluster.spec.upstreamHttp2).toBe(false);
    expect(asHttp.byTargetPort.get(19090)?.decision.cluster).toBe(asHttp.byTargetPort.get(19090)?.cluster);
  });
});

describe("targetForServerName", () => {
  const targets = buildInboundTargets({ inbound: [web, grpc, port("http", 80, 18081, "http", "other.default.svc.cluster.local")] }, options(undefined), undefined);

  it("a client sidecar's SNI names the port by service port and host, whatever the subset", () => {
    expect(targetForServerName(targets, `outbound_.9090_._.${host}`)).toBe(targets.byTargetPort.get(19090));
    expect(targetForServerName(targets, `outbound_.9090_.v2_.${host.toUpperCase()}`)).toBe(targets.byTargetPort.get(19090));
    expect(targetForServerName(targets, "outbound_.80_._.other.default.svc.cluster.local")).toBe(targets.byTargetPort.get(18081));
  });

  it("anything else is main: no SNI, another port or host, a name that is not a mesh SNI", () => {
    for (const name of [undefined, "", `outbound_.7070_._.${host}`, "outbound_.9090_._.elsewhere.svc.cluster.local", host, `inbound_.9090_._.${host}`]) {
      expect(targetForServerName(targets, name)).toBe(targets.main);
    }
  });

  it("a single-port workload does not look at the SNI", () => {
    const one = buildInboundTargets({ inbound: [grpc] }, options(undefined), undefined);
    expect(one.byService.size).toBe(0);
    expect(targetForServerName(one, `outbound_.9090_._.${host}`)).toBe(one.main);
  });

  it("meshSniKey parses Istio's outbound SNI", () => {
    expect(meshSniKey("outbound_.9080_.v1_.reviews.default.svc.cluster.local")).toBe("9080|reviews.default.svc.cluster.local");
    expect(meshSniKey("outbound_.x_._.reviews")).toBeUndefined();
    expect(meshSniKey("reviews.default.svc.cluster.local")).toBeUndefined();
  });
});

describe("buildInboundTargets with --inbound-port-map", () => {
  const map = new Map([
    [18080, 15100],
    [19090, 15101],
    [15432, 15102],
    [18000, 15103],
  ]);

  it("without a map, the per-port listeners listen at the ports' targetPorts", () => {
    const targets = buildInboundTargets({ inbound: [web, grpc, db] }, options(undefined), undefined);
    expect([...targets.byListenPort]).toEqual([...targets.byTargetPort]);
  });

  it("a mapped HTTP port listens at its mapped port with the port's own target; TCP ports are not the HTTP listeners'", () => {
    const targets = buildInboundTargets({ inbound: [web, grpc, db] }, { ...options(undefined), portMap: map }, undefined);
    expect([...targets.byListenPort.keys()]).toEqual([15100, 15101]);
    expect(targets.byListenPort.get(15100)).toBe(targets.main);
    expect(targets.byListenPort.get(15101)).toBe(targets.byTargetPort.get(19090));
    expect(targets.byListenPort.get(15101)?.cluster.spec).toMatchObject({ name: "inbound|19090||", upstreamHttp2: true });
    expect(targets.byListenPort.get(15101)?.mode).toBe("STRICT");
  });

  it("an unmapped port keeps its targetPort listener next to mapped ones", () => {
    const targets = buildInboundTargets({ inbound: [web, grpc] }, { ...options(undefined), portMap: new Map([[19090, 15101]]) }, undefined);
    expect([...targets.byListenPort.keys()]).toEqual([18080, 15101]);
  });

  it("the mapped listener of the first port is that container port's, even when --app-port is elsewhere", () => {
    const targets = buildInboundTargets({ inbound: [web, grpc] }, { ...options(18000), portMap: map }, undefined);
    // main (the --inbound-port listener's plain text) goes to --app-port 18000 ...
    expect(targets.main?.appPort).toBe(18000);
    // ... but what the capture rule sent to 18080 reaches 18080, and 18000's own listener serves main.
    expect(targets.byListenPort.get(15100)?.cluster.spec.endpoints[0]?.address).toBe("127.0.0.1:18080");
    expect(targets.byListenPort.get(15100)?.appPort).toBe(18080);
    expect(targets.byListenPort.get(15103)).toBe(targets.main);
    expect(targets.clusters.map((c) => c.name)).toContain("inbound|18080||");
  });

  it("--app-port alone, mapped: its listener serves main; a TCP port of the config at --app-port keeps it TCP", () => {
    const alone = buildInboundTargets({ inbound: [] }, { ...options(18000), portMap: map }, undefined);
    expect([...alone.byListenPort]).toEqual([[15103, alone.main]]);
    const tcp = buildInboundTargets({ inbound: [db] }, { ...options(15432), portMap: map }, undefined);
    expect(tcp.byListenPort.size).toBe(0);
  });

  it("a new config keeps a mapped port's cluster", () => {
    const shared = { ...options(18000), portMap: map };
    const first = buildInboundTargets({ inbound: [web] }, shared, undefined);
    const second = buildInboundTargets({ inbound: [web] }, shared, first);
    expect(second.byListenPort.get(15100)?.cluster).toBe(first.byListenPort.get(15100)?.cluster);
  });
});

describe("parseInboundPortMap", () => {
  const reserved = { inbound: 15006, outbound: 15001, admin: 15000, stats: 15020, disabled: -1 };

  it("reads APP_PORT:LISTEN_PORT entries in order", () => {
    expect(parseInboundPortMap(["9080:15100", " 9443:15101 "], reserved)).toEqual({ ok: true, map: new Map([[9080, 15100], [9443, 15101]]) });
    expect(parseInboundPortMap([], reserved)).toEqual({ ok: true, map: new Map() });
  });

  it("refuses what would not work, naming the setting and the fix", () => {
    const message = (entries: string[]): string => {
      const result = parseInboundPortMap(entries, reserved);
      return result.ok ? "ok" : result.message;
    };
    expect(message(["9080=15100"])).toMatch(/^--inbound-port-map \(MESHWORK_INBOUND_PORT_MAP\): "9080=15100" is not APP_PORT:LISTEN_PORT.*e\.g\. 9080:15100/);
    expect(message(["9080:0"])).toMatch(/"9080:0" is not APP_PORT:LISTEN_PORT/);
    expect(message(["9080:70000"])).toMatch(/is not APP_PORT:LISTEN_PORT/);
    expect(message(["9080:15100", "9080:15101"])).toMatch(/application port 9080 is mapped twice/);
    expect(message(["9080:15100", "9443:15100"])).toMatch(/listen port 15100 is given to two application ports/);
    expect(message(["9080:15020"])).toMatch(/9080:15020 listens on the sidecar's stats port/);
    expect(message(["9080:9443", "9443:15101"])).toMatch(/9080:9443 listens on application port 9443/);
  });
});
