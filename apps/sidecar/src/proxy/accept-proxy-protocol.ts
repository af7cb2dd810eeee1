// The PROXY protocol at accept time on a gateway port (MeshConfig gatewayTopology.proxyProtocol,
// Envoy's proxy_protocol listener filter): the header a load balancer sends is read before
// anything else — before TLS's ClientHello — and the client it names becomes the connection's
// downstream address: socket.remoteAddress/remotePort (access log downstream_remote_address,
// X-Forwarded-For, remote.ip, an external authorizer's source), while the load balancer's address
// stays the direct peer (source.ip: Envoy's direct_remote_ip is always the physical peer). A
// connection without a valid header is closed and counted (Envoy's proxy_proto.* stats).
import type { Socket } from "node:net";
import type { Logger } from "@meshwork/telemetry";
import type { Serve, TlsAcceptor } from "../tls/inbound-tls.ts";
import { parseProxyProtocol, type ProxiedAddress } from "./parse-proxy-protocol.ts";

/** Counters shared by the gateway's ports (admin `/stats`: `proxy_proto.*`, as Envoy names them). */
export interface ProxyProtocolStats {
  v1Found: number;
  v2Found: number;
  v1Error: number;
  v2Error: number;
  /** Connections that did not start with a header while one is required. */
  notFound: number;
}

export function newProxyProtocolStats(): ProxyProtocolStats {
  return { v1Found: 0, v2Found: 0, v1Error: 0, v2Error: 0, notFound: 0 };
}

/** `[name, value]` pairs for the admin `/stats` page. */
export function proxyProtocolStatLines(stats: ProxyProtocolStats): [string, number][] {
  return [
    ["proxy_proto.versions.v1.found", stats.v1Found],
    ["proxy_proto.versions.v2.found", stats.v2Found],
    ["proxy_proto.versions.v1.error", stats.v1Error],
    ["proxy_proto.versions.v2.error", stats.v2Error],
    ["proxy_proto.not_found_disallowed", stats.notFound],
  ];
}

export interface ProxyProtocolOptions {
  /** Time the load balancer gets to send the whole header (Envoy's listener_filters_timeout). */
  readonly timeoutMs: number;
  readonly stats: ProxyProtocolStats;
  readonly logger: Logger;
  /** Where, for the log (`gateway port 8443`). */
  readonly where: string;
}

interface Downstream {
  /** The physical peer's IP (the load balancer). */
  readonly directIp: string;
  /** The client the header named; undefined: the connection's own addresses (LOCAL, UNKNOWN). */
  readonly source: ProxiedAddress | undefined;
}

/** What the header said per socket (the raw one, and the TLS socket over it once adopted). */
const downstreams = new WeakMap<Socket, Downstream>();

/**
 * Reads the PROXY protocol header from a new connection, then calls `proceed` with the socket
 * paused and the bytes that followed the header put back (unshifted). On a missing or malformed
 * header, or silence for `timeoutMs`, the connection is closed, counted and logged (debug), and
 * `proceed` is never called. The socket's addresses are not changed here: restoreRemoteAddress
 * does that on the socket that will be served (the TLS socket when TLS follows).
 */
export function readProxyProtocol(socket: Socket, options: ProxyProtocolOptions, proceed: (socket: Socket) => void): void {
  let received: Buffer | undefined;
  const finish = (): void => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.pause();
  };
  const refuse = (reason: string, version: 1 | 2 | undefined): void => {
    finish();
    if (version === 1) options.stats.v1Error += 1;
    else if (version === 2) options.stats.v2Error += 1;
    else options.stats.notFound += 1;
    options.logger.debug("PROXY protocol: connection refused", { where: options.where, remote: socket.remoteAddress ?? "", reason });
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    received = received === undefined ? chunk : Buffer.concat([received, chunk]);
    const parsed = parseProxyProtocol(received);
    if (parsed.type === "incomplete") return;
    if (parsed.type === "error") {
      refuse(parsed.reason, parsed.version);
      return;
    }
    finish();
    if (parsed.version === 1) options.stats.v1Found += 1;
    else options.stats.v2Found += 1;
    downstreams.set(socket, { directIp: socket.remoteAddress ?? "", source: parsed.source });
    if (received.length > parsed.length) socket.unshift(received.subarray(parsed.length));
    proceed(socket);
  };
  const timer = setTimeout(() => refuse(`no complete header within ${options.timeoutMs} ms`, undefined), options.timeoutMs);
  socket.on("data", onData);
  socket.once("close", () => clearTimeout(timer));
  socket.on("error", () => undefined);
  socket.resume();
}

/**
 * Makes the client the header of `from` (the raw socket readProxyProtocol read) named the remote
 * address of `socket` (that socket, or the TLS socket over it); nothing for a header without one.
 * The addresses are own properties of this one socket: sockets of other listeners are untouched.
 */
export function restoreRemoteAddress(socket: Socket, from: Socket = socket): void {
  const downstream = downstreams.get(from);
  if (downstream === undefined) return;
  if (socket !== from) downstreams.set(socket, downstream);
  const source = downstream.source;
  if (source === undefined) return;
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: source.family, configurable: true },
  });
}

/** The physical peer of a connection that came with a PROXY header (source.ip); undefined for any other socket. */
export function directRemoteAddress(socket: object | undefined): string | undefined {
  return socket === undefined ? undefined : downstreams.get(socket as Socket)?.directIp;
}

/**
 * An HTTP gateway port's acceptor with the PROXY protocol in front: the header, then `tls` (the
 * port's TLS termination) when given, and the served socket carries the header's client.
 */
export function proxyProtocolAcceptor(tls: TlsAcceptor | undefined, options: ProxyProtocolOptions): TlsAcceptor {
  return {
    accept(socket: Socket, serve: Serve): void {
      readProxyProtocol(socket, options, (raw) => {
        if (tls === undefined) {
          restoreRemoteAddress(raw);
          serve(raw, undefined);
          raw.resume();
          return;
        }
        // The raw socket keeps its own addresses until TLS hands over the TLS socket: the
        // handshake ties the two together by them (tls/handshake-waiters.ts).
        tls.accept(raw, (client, security, serverName) => {
          restoreRemoteAddress(client, raw);
          serve(client, security, serverName);
        });
      });
    },
  };
}
