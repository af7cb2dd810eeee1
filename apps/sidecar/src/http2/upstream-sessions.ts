// The upstream side of the HTTP/2 listener path for every endpoint: an Http2SessionPool when the
// cluster speaks HTTP/2 upstream, a keep-alive node:http Agent otherwise. Keyed by the endpoint's
// HTTP/1.1 EndpointPool, which PoolRegistry already shares across config snapshots. The sidecar
// creates it at start; node:http2 (in http2-session-pool.ts) is loaded only with the HTTP/2 path
// (load-http2-handler.ts), which hands in the pool's constructor.
import { Agent } from "node:http";
import type { EndpointPool, EndpointPoolOptions } from "../upstream/endpoint-pool.ts";
import type { Http2SessionPool } from "./http2-session-pool.ts";

export class UpstreamSessions {
  private readonly http2 = new Map<EndpointPool, Http2SessionPool>();
  private readonly http1 = new Map<EndpointPool, Agent>();

  /** The HTTP/2 sessions to the endpoint of `endpoint`; `open` makes them the first time (openHttp2SessionPool). */
  http2Pool(endpoint: EndpointPool, open: (options: EndpointPoolOptions) => Http2SessionPool): Http2SessionPool {
    let pool = this.http2.get(endpoint);
    if (!pool) {
      pool = open(endpoint.options);
      this.http2.set(endpoint, pool);
    }
    return pool;
  }

  /** A keep-alive Agent for HTTP/1.1 requests to the endpoint of `endpoint`. */
  http1Agent(endpoint: EndpointPool): Agent {
    let agent = this.http1.get(endpoint);
    if (!agent) {
      agent = new Agent({ keepAlive: true, timeout: endpoint.options.idleTimeoutMs });
      const tls = endpoint.options.tls;
      // TLS origination for HTTP/1.1 requests that arrived over HTTP/2: the agent's sockets come from the endpoint's TLS settings.
      if (tls) agent.createConnection = () => tls.connect(endpoint.options.host, endpoint.options.port, ["http/1.1"]);
      this.http1.set(endpoint, agent);
    }
    return agent;
  }

  /** Closes the sessions and agents of endpoints not in `inUse` (call after PoolRegistry.retainOnly). */
  retainOnly(inUse: ReadonlySet<EndpointPool>): void {
    for (const [endpoint, pool] of this.http2) {
      if (inUse.has(endpoint)) continue;
      pool.close();
      this.http2.delete(endpoint);
    }
    for (const [endpoint, agent] of this.http1) {
      if (inUse.has(endpoint)) continue;
      agent.destroy();
      this.http1.delete(endpoint);
    }
  }

  closeAll(): void {
    this.retainOnly(new Set());
  }
}
