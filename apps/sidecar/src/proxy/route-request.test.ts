import { describe, expect, it } from "vitest";
import { docs, routeYaml } from "../../tests/support/mesh-yaml.ts";
import { snapshotFromYaml } from "../../tests/support/proxy-fixture.ts";
import { serviceEntryYaml, type UpstreamServer } from "../../tests/support/upstream-server.ts";
import { isHeadError, parseRequestHead, type RequestHead } from "../http1/parse-request-head.ts";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import type { ClusterRuntime } from "./cluster-runtime.ts";
import { inboundDecision, routeInbound, routeOutbound, type Decision, type ForwardDecision, type RequestContext } from "./route-request.ts";

/** svc.test:80 with one endpoint (nothing listens there: decisions only) and a route to it. */
const yaml = docs(serviceEntryYaml("svc.test", 80, [{ name: "v1", port: 9 } as unknown as UpstreamServer]), routeYaml("svc.test"));

function head(text: string): RequestHead {
  const parsed = parseRequestHead(Buffer.from(text, "latin1"));
  if (parsed === undefined || isHeadError(parsed)) throw new Error(`test head did not parse: ${JSON.stringify(parsed)}`);
  return parsed;
}

function context(text: string): RequestContext {
  return { head: head(text), listenerPort: 15001, sourceIp: "127.0.0.1", random: () => 0.5 };
}

function forward(decision: Decision): ForwardDecision {
  if (decision.type !== "forward") throw new Error(`expected a forward decision, got ${JSON.stringify(decision)}`);
  return decision;
}

describe("shared forward decisions", () => {
  it("requests without per-request parts share one read-only decision; an override gets its own", () => {
    const pools = new PoolRegistry();
    const snapshot = snapshotFromYaml(yaml, pools);
    const a = forward(routeOutbound(snapshot, context("GET /a HTTP/1.1\r\nHost: svc.test\r\n\r\n")));
    const b = forward(routeOutbound(snapshot, context("GET /b HTTP/1.1\r\nHost: svc.test\r\n\r\n")));
    expect(b).toBe(a);
    expect(a.requestHeaders).toEqual([]);
    expect(a.mirrors).toEqual([]);
    const timed = forward(routeOutbound(snapshot, context("GET /c HTTP/1.1\r\nHost: svc.test\r\nx-envoy-upstream-rq-timeout-ms: 250\r\n\r\n")));
    expect(timed).not.toBe(a);
    expect(timed.timeoutMs).toBe(250);
    expect(forward(routeOutbound(snapshot, context("GET /d HTTP/1.1\r\nHost: svc.test\r\n\r\n")))).toBe(a);
    // A new snapshot (config swap) builds new routes and clusters: no decision of the old one is reused.
    const next = snapshotFromYaml(yaml, pools, snapshot);
    const c = forward(routeOutbound(next, context("GET /a HTTP/1.1\r\nHost: svc.test\r\n\r\n")));
    expect(c.route).not.toBe(a.route);
    expect(c).not.toBe(a);
  });

  it("inbound: the shared decision for origin-form targets, a fresh one with the target for an absolute-form request", () => {
    const cluster = { name: "inbound|8080||" } as unknown as ClusterRuntime;
    const retries = { attempts: 2, perTryTimeoutMs: undefined, retryOn: 0, retriableStatusCodes: [], unknownTokens: [], backoffBaseMs: 25, backoffMaxMs: 250, retryIgnorePreviousHosts: true, retryRemoteLocalities: false };
    const shared = inboundDecision(cluster, retries);
    expect(shared).toMatchObject({ type: "forward", cluster, retries, routeName: "default", target: undefined });
    expect(routeInbound(shared, head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"))).toBe(shared);
    expect(routeInbound(shared, head("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"))).toBe(shared);
    const absolute = routeInbound(shared, head("GET http://x/abs?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(absolute).not.toBe(shared);
    expect(absolute).toMatchObject({ cluster, retries, target: "/abs?q=1" });
    expect(shared.target).toBeUndefined();
  });
});
