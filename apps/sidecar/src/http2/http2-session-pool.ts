// The HTTP/2 connections to one upstream endpoint (Envoy's HTTP/2 connection pool): streams are
// multiplexed over a few sessions, a new session opens only when every open one is at the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS, each session holds one unit of the cluster's "connections"
// breaker, and a session that carried maxRequestsPerConnection streams (or got GOAWAY) takes no
// new ones and closes when its last stream ends.
import { connect, type ClientHttp2Session } from "node:http2";
import type { CircuitBreaker } from "@meshwork/proxy-core";
import { formatAddress } from "../proxy/socket-address.ts";
import type { EndpointPoolOptions } from "../upstream/endpoint-pool.ts";

export interface PooledSession {
  readonly session: ClientHttp2Session;
  /** Streams open on this session. */
  active: number;
  /** Streams this session has carried (maxRequestsPerConnection). */
  served: number;
  /** Takes no new streams: GOAWAY received, maxRequestsPerConnection reached, or idle close. */
  draining: boolean;
  connected: boolean;
  /** The session failed before its TCP connection was established (streams on it fail as connect-failure). */
  connectFailed: boolean;
}

/** Streams assumed allowed per session until the peer's SETTINGS arrive (Node's peerMaxConcurrentStreams default). */
const assumedMaxStreams = 100;

export class Http2SessionPool {
  readonly options: EndpointPoolOptions;
  private readonly sessions: PooledSession[] = [];
  private closing = false;

  constructor(options: EndpointPoolOptions) {
    this.options = options;
  }

  /**
   * A session for one more stream: the first with room, else a new one (when `breaker` allows a
   * connection), else the least busy (nghttp2 queues the stream until a slot frees). Undefined
   * when there is no session and the breaker refuses a connection (503 UO). The caller must
   * `release` the session when the stream closes.
   */
  acquire(breaker: CircuitBreaker): PooledSession | undefined {
    let chosen: PooledSession | undefined;
    let leastBusy: PooledSession | undefined;
    for (const entry of this.sessions) {
      if (entry.draining) continue;
      if (entry.active < maxStreams(entry)) {
        chosen = entry;
        break;
      }
      if (leastBusy === undefined || entry.active < leastBusy.active) leastBusy = entry;
    }
    chosen ??= this.open(breaker) ?? leastBusy;
    if (chosen === undefined) return undefined;
    chosen.active += 1;
    chosen.served += 1;
    if (breaker.isConnectionSpent(chosen.served)) chosen.draining = true;
    return chosen;
  }

  /** A stream of `entry` closed. */
  release(entry: PooledSession): void {
    entry.active -= 1;
    if (entry.active === 0 && entry.draining && !entry.session.closed) entry.session.close();
  }

  get sessionCount(): number {
    return this.sessions.length;
  }

  /** Destroys every session (pool removed, proxy shutting down). */
  close(): void {
    this.closing = true;
    for (const entry of this.sessions.slice()) entry.session.destroy();
  }

  private open(breaker: CircuitBreaker): PooledSession | undefined {
    if (this.closing || !breaker.tryAcquire("connections").ok) return undefined;
    const { host, port, connectTimeoutMs, idleTimeoutMs, tls } = this.options;
    // Over TLS (mTLS between sidecars) HTTP/2 is negotiated with ALPN h2; in plain text it is h2c with prior knowledge.
    const session = connect(`http://${formatAddress(host, port)}`, {
      settings: { enablePush: false },
      ...(tls ? { createConnection: () => tls.connect(host, port, ["h2"]) } : {}),
    });
    const entry: PooledSession = { session, active: 0, served: 0, draining: false, connected: false, connectFailed: false };
    this.sessions.push(entry);
    const connectTimer = setTimeout(() => {
      if (!entry.connected) session.destroy(new Error("connect timeout"));
    }, connectTimeoutMs);
    session.once("connect", () => {
      entry.connected = true;
      clearTimeout(connectTimer);
    });
    session.on("error", () => {
      if (!entry.connected) entry.connectFailed = true;
    });
    session.on("goaway", () => {
      entry.draining = true;
    });
    session.setTimeout(idleTimeoutMs, () => {
      if (entry.active === 0) {
        entry.draining = true;
        session.close();
      }
    });
    session.once("close", () => {
      clearTimeout(connectTimer);
      entry.draining = true;
      const at = this.sessions.indexOf(entry);
      if (at >= 0) this.sessions.splice(at, 1);
      breaker.release("connections");
    });
    return entry;
  }
}

/** A new pool for UpstreamSessions.http2Pool (which does not import this module: node:http2 loads with the HTTP/2 path). */
export function openHttp2SessionPool(options: EndpointPoolOptions): Http2SessionPool {
  return new Http2SessionPool(options);
}

function maxStreams(entry: PooledSession): number {
  if (!entry.connected) return assumedMaxStreams;
  return entry.session.remoteSettings.maxConcurrentStreams ?? assumedMaxStreams;
}
