// Request mirroring (Istio `mirror` / `mirrors`, Envoy request_mirror_policies): a copy of the
// request goes to the mirror cluster with `-shadow` appended to the host, fire-and-forget — the
// response is read and dropped, failures only counted. Off the hot path, so it uses node:http
// with a keep-alive agent per endpoint.
import { Agent, request } from "node:http";
import { decodeChunked } from "../http1/decode-chunked.ts";
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { EndpointPool } from "../upstream/endpoint-pool.ts";
import type { ClusterRuntime } from "./cluster-runtime.ts";

const agents = new WeakMap<EndpointPool, Agent>();

/** `reviews:9080` → `reviews-shadow:9080`; `reviews` → `reviews-shadow` (Envoy's shadow host). */
export function shadowAuthority(authority: string): string {
  const colon = authority.lastIndexOf(":");
  if (colon > 0 && authority.lastIndexOf("]") < colon) return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  return `${authority}-shadow`;
}

/** Mirror statistics of the process, for /stats. */
export const mirrorStats = { sent: 0, failed: 0 };

/** Sends a copy of the request (head and complete `body`) to an endpoint of `cluster`, ignoring the outcome. */
export function sendMirror(cluster: ClusterRuntime, head: RequestHead, target: string, body: readonly Buffer[], nowMs: number): void {
  const index = cluster.pick(undefined, -1, nowMs);
  const endpoint = cluster.endpoints[index];
  const spec = cluster.spec.endpoints[index];
  if (!endpoint || !spec) {
    mirrorStats.failed += 1;
    return;
  }
  let agent = agents.get(endpoint.pool);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 16 });
    agents.set(endpoint.pool, agent);
  }
  const headers: Record<string, string> = {};
  for (let i = 0; i < head.names.length; i++) {
    const name = head.names[i] as string;
    if (name === "connection" || name === "keep-alive" || name === "transfer-encoding" || name === "content-length") continue;
    headers[name] = headers[name] === undefined ? (head.values[i] as string) : `${headers[name]},${head.values[i] as string}`;
  }
  headers["host"] = shadowAuthority(head.authority);
  // The proxy keeps the body as received; node:http frames it again, so a chunked body is decoded first.
  const payload = head.chunked ? decodeChunked(Buffer.concat(body)) : Buffer.concat(body);
  if (payload === undefined) {
    mirrorStats.failed += 1;
    return;
  }
  if (payload.length > 0) headers["content-length"] = String(payload.length);
  const copy = request({ host: spec.host, port: spec.port, method: head.method, path: target, headers, agent }, (res) => {
    res.resume();
  });
  copy.on("error", () => {
    mirrorStats.failed += 1;
  });
  mirrorStats.sent += 1;
  copy.end(payload);
}
