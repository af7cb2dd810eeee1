// Starts a real outbound or inbound HTTP/1.1 listener of the sidecar on loopback, configured from
// Istio YAML text, for integration tests against real upstream servers.
import { loadResources } from "@meshwork/config";
import { buildProxyConfig, type Locality } from "@meshwork/proxy-core";
import { buildSnapshot, type BuiltSnapshot } from "../../src/proxy/build-snapshot.ts";
import type { ExchangeEnvironment, ExchangeRecord } from "../../src/proxy/exchange.ts";
import { UpstreamSessions } from "../../src/http2/upstream-sessions.ts";
import { HttpListener } from "../../src/proxy/http-listener.ts";
import { routeOutbound, type Decision } from "../../src/proxy/route-request.ts";
import type { RequestHead } from "../../src/http1/parse-request-head.ts";
import { defaultHeadLimits } from "../../src/http1/parse-request-head.ts";
import { PoolRegistry } from "../../src/upstream/pool-registry.ts";

export interface FinishedRequest {
  readonly head: RequestHead;
  readonly record: ExchangeRecord;
  readonly decision: Decision;
}

export interface ProxyFixture {
  readonly port: number;
  readonly listener: HttpListener;
  readonly finished: FinishedRequest[];
  snapshot: BuiltSnapshot;
  /** Replaces the config (as a new push would). */
  apply(yaml: string): void;
  close(): Promise<void>;
}

export function snapshotFromYaml(yaml: string, pools: PoolRegistry, previous?: BuiltSnapshot, proxyLocality?: Locality): BuiltSnapshot {
  const loaded = loadResources([{ path: "test.yaml", text: yaml }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(`test config invalid: ${JSON.stringify(errors, null, 2)}`);
  const { config } = buildProxyConfig(loaded.resources, { namespace: "default", domainSuffix: "cluster.local", proxyLabels: { app: "test" }, version: "test" });
  return buildSnapshot(
    config,
    { pools, namespace: "default", proxyLabels: { app: "test" }, gateway: "mesh", outboundTrafficPolicy: "ALLOW_ANY", proxyLocality, nowMs: performance.now() },
    previous,
  );
}

export interface OutboundProxyOptions {
  readonly headersTimeoutMs?: number;
  readonly random?: () => number;
  /** The proxy's own locality (locality-aware load balancing). */
  readonly locality?: Locality;
  /** Give the listener the HTTP/2 path (as the sidecar does): h2c clients, and HTTP/2 upstreams for clusters that speak it. */
  readonly http2?: boolean;
}

export async function startOutboundProxy(yaml: string, options: OutboundProxyOptions = {}): Promise<ProxyFixture> {
  const pools = new PoolRegistry();
  const finished: FinishedRequest[] = [];
  const random = options.random ?? Math.random;
  const env: ExchangeEnvironment = {
    now: () => performance.now(),
    random,
    extraRequestHeaders: () => "",
    finished: (head, record, decision) => finished.push({ head, record: { ...record }, decision }),
  };
  let snapshot = snapshotFromYaml(yaml, pools, undefined, options.locality);
  let port = 0;
  const http2Upstreams = options.http2 === true ? new UpstreamSessions() : undefined;
  const listener: HttpListener = new HttpListener({
    limits: defaultHeadLimits,
    env,
    headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
    idleTimeoutMs: 60_000,
    decide: (head, sourceIp): Decision => routeOutbound(snapshot, { head, listenerPort: port, sourceIp, random }),
    http2Upstreams,
  });
  port = await listener.listen(0, "127.0.0.1");
  const fixture: ProxyFixture = {
    port,
    listener,
    finished,
    get snapshot() {
      return snapshot;
    },
    set snapshot(value) {
      snapshot = value;
    },
    apply(text: string) {
      snapshot = snapshotFromYaml(text, pools, snapshot, options.locality);
    },
    async close() {
      await listener.drain(1000);
      http2Upstreams?.closeAll();
      pools.closeAll();
    },
  };
  return fixture;
}
