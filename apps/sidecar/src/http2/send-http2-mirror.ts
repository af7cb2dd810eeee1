// Request mirroring for requests that arrived over HTTP/2 (h2c or ALPN h2): Istio's `mirror` /
// `mirrors` with `mirrorPercentage` (decided by the route, see route-request.ts). The copy goes
// to an endpoint of the mirror cluster with `-shadow` appended to :authority (Envoy's shadow
// host), over HTTP/2 when the mirror cluster speaks it upstream (h2, gRPC, or
// USE_CLIENT_PROTOCOL, the client speaking HTTP/2 here), else HTTP/1.1 — through the same
// pooled sessions and agents as the primary (so upstream TLS applies). Fire-and-forget: the
// primary never waits for it, the response is read and dropped, failures are only counted.
import { request } from "node:http";
import type { IncomingHttpHeaders } from "node:http2";
import type { HeaderOps } from "@meshwork/proxy-core";
import type { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import { mirrorStats, shadowAuthority } from "../proxy/send-mirror.ts";
import { upstreamRequestHeaders } from "./convert-headers.ts";
import { openHttp2SessionPool } from "./http2-session-pool.ts";
import type { UpstreamSessions } from "./upstream-sessions.ts";

/** The request to copy: the received header block, what the route decided, and the complete body. */
export interface Http2MirrorRequest {
  readonly received: IncomingHttpHeaders;
  readonly method: string;
  /** Path and query as sent to the primary (after rewrites). */
  readonly target: string;
  /** Authority as sent to the primary; the copy gets `<authority>-shadow`. */
  readonly authority: string;
  /** The route's request header operations (applied to the copy as to the primary). */
  readonly ops: readonly HeaderOps[];
  readonly body: readonly Buffer[];
}

/** Sends one copy of `req` to `cluster`, ignoring the outcome (counted in `mirrorStats`). */
export function sendHttp2Mirror(cluster: ClusterRuntime, req: Http2MirrorRequest, upstreams: UpstreamSessions, nowMs: number): void {
  const index = cluster.pick(undefined, -1, nowMs);
  const endpoint = cluster.endpoints[index];
  if (index < 0 || endpoint === undefined) {
    mirrorStats.failed += 1;
    return;
  }
  const http2 = cluster.spec.upstreamHttp2 || cluster.spec.useClientProtocol;
  const headers = upstreamRequestHeaders(
    req.received,
    { method: req.method, target: req.target, authority: shadowAuthority(req.authority), ops: req.ops, extraLines: "", expectedTimeoutMs: undefined },
    http2,
  );
  const payload = req.body.length === 1 ? (req.body[0] as Buffer) : Buffer.concat(req.body);
  let failed = false;
  const fail = (): void => {
    if (failed) return;
    failed = true;
    mirrorStats.failed += 1;
  };
  if (http2) {
    const pool = upstreams.http2Pool(endpoint.pool, openHttp2SessionPool);
    const entry = pool.acquire(cluster.breaker);
    if (!entry) {
      fail();
      return;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      pool.release(entry);
    };
    let stream: ReturnType<typeof entry.session.request>;
    try {
      stream = entry.session.request(headers, { endStream: payload.length === 0 });
    } catch {
      release();
      fail();
      return;
    }
    let answered = false;
    stream.on("response", () => {
      answered = true;
    });
    stream.on("error", fail);
    stream.on("close", () => {
      release();
      if (!answered) fail();
    });
    // The response (head, data, trailers) is read and dropped.
    stream.resume();
    mirrorStats.sent += 1;
    if (payload.length > 0) stream.end(payload);
    return;
  }
  // HTTP/1.1 upstream: node:http frames the body itself.
  delete headers["content-length"];
  if (payload.length > 0 || req.received["content-length"] !== undefined) headers["content-length"] = String(payload.length);
  const { host, port } = endpoint.pool.options;
  const copy = request({ agent: upstreams.http1Agent(endpoint.pool), host, port, method: req.method, path: req.target, headers }, (res) => {
    res.resume();
  });
  copy.on("error", fail);
  mirrorStats.sent += 1;
  copy.end(payload);
}
