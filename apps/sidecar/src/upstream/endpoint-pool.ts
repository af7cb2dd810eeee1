// The keep-alive pool of one upstream endpoint (Envoy's per-host connection pool): idle
// connections reused last-in first-out so a few stay warm, new ones opened on demand, and the
// cluster's circuit breaker consulted for every connection opened.
import type { CircuitBreaker } from "@meshwork/proxy-core";
import type { UpstreamTls } from "../tls/upstream-tls.ts";
import { UpstreamConnection, type ConnectionOwner } from "./upstream-connection.ts";

export interface EndpointPoolOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** TLS origination (DestinationRule tls or auto mTLS); undefined = plain text. */
  readonly tls?: UpstreamTls | undefined;
}

/** ALPN of pooled HTTP/1.1 connections. */
const http1Alpn: readonly string[] = ["http/1.1"];

export class EndpointPool {
  readonly options: EndpointPoolOptions;
  private readonly idle: UpstreamConnection[] = [];
  /** Open connections (idle and busy). */
  open = 0;
  private closing = false;
  /** The idle timeout's timer, armed while connections are idle. */
  private sweeper: NodeJS.Timeout | undefined;
  /** Requests queued for a connection while the cluster is at maxConnections (http1MaxPendingRequests). */
  private readonly waiters: ((connection: UpstreamConnection | undefined) => void)[] = [];

  constructor(options: EndpointPoolOptions) {
    this.options = options;
  }

  /** An idle connection, or undefined when a new one has to be opened. */
  takeIdle(): UpstreamConnection | undefined {
    while (this.idle.length > 0) {
      const connection = this.idle.pop() as UpstreamConnection;
      if (connection.usable) return connection;
    }
    return undefined;
  }

  /**
   * Opens a connection counted against `breaker`'s connection limit; undefined when the limit is
   * reached (the caller answers 503 UO or queues).
   */
  openConnection(breaker: CircuitBreaker): UpstreamConnection | undefined {
    if (!breaker.tryAcquire("connections").ok) return undefined;
    this.open += 1;
    const tls = this.options.tls;
    const owner: ConnectionOwner = {
      onClosed: (closed) => {
        this.open -= 1;
        breaker.release("connections");
        const at = this.idle.indexOf(closed);
        if (at >= 0) this.idle.splice(at, 1);
        // A slot became free: open a connection for the longest-waiting request.
        const waiter = this.waiters[0];
        if (waiter && !this.closing) {
          const fresh = this.openConnection(breaker);
          if (fresh) {
            this.waiters.shift();
            waiter(fresh);
          }
        }
      },
    };
    const connection = tls ? UpstreamConnection.connectTls(tls, this.options.host, this.options.port, http1Alpn, owner) : UpstreamConnection.connect(this.options.host, this.options.port, owner);
    const socket = connection.socket;
    socket.setTimeout(this.options.connectTimeoutMs);
    // With TLS the connect timeout covers the handshake too. Once connected, the socket has no timer:
    // Node would re-arm it on every read and write; the pool closes connections idle for
    // idleTimeoutMs itself (sweepIdle), and exchanges run their own timers.
    socket.once(tls ? "secureConnect" : "connect", () => socket.setTimeout(0));
    socket.once("timeout", () => {
      if (!connection.connected) socket.destroy(new Error("connect timeout"));
    });
    return connection;
  }

  /** Gives back a connection after a complete exchange; it is closed instead when the pool is closing. */
  release(connection: UpstreamConnection): void {
    connection.handler = undefined;
    if (this.closing || !connection.usable) {
      connection.socket.destroy();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(connection);
      return;
    }
    connection.idleSinceMs = performance.now();
    this.idle.push(connection);
    if (this.sweeper === undefined) this.armSweeper(this.options.idleTimeoutMs);
  }

  /** Checks the idle connections again in `delayMs` (one timer per pool, only while some are idle). */
  private armSweeper(delayMs: number): void {
    this.sweeper = setTimeout(() => this.sweepIdle(), delayMs);
    this.sweeper.unref();
  }

  /**
   * Closes the connections idle for idleTimeoutMs. The idle list is in release order (connections
   * are taken from its end), so the oldest come first.
   */
  private sweepIdle(): void {
    this.sweeper = undefined;
    const now = performance.now();
    const timeout = this.options.idleTimeoutMs;
    while (this.idle.length > 0 && now - (this.idle[0] as UpstreamConnection).idleSinceMs >= timeout) (this.idle.shift() as UpstreamConnection).socket.destroy();
    const oldest = this.idle[0];
    if (oldest !== undefined && !this.closing) this.armSweeper(Math.max(1, Math.ceil(oldest.idleSinceMs + timeout - now)));
  }

  /**
   * Queues a request until a connection is released or a slot frees up (Envoy keeps pending
   * requests until the route timeout or the client gives up); returns the function that leaves
   * the queue. `ready(undefined)` when the pool closes.
   */
  waitForConnection(ready: (connection: UpstreamConnection | undefined) => void): () => void {
    this.waiters.push(ready);
    return () => {
      const at = this.waiters.indexOf(ready);
      if (at >= 0) this.waiters.splice(at, 1);
    };
  }

  /** Closes idle connections now and every other one when its exchange ends (endpoint removed). */
  close(): void {
    this.closing = true;
    if (this.sweeper !== undefined) clearTimeout(this.sweeper);
    this.sweeper = undefined;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
