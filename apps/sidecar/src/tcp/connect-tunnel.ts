// HTTP CONNECT through the explicit proxy (RFC 9110 §9.3.6): `CONNECT db.default.svc.cluster.local:5432
// HTTP/1.1` asks for a tunnel to host:port. The authority is routed with the TCP route table;
// once the upstream is connected the client gets `200 Connection Established` and the
// connection becomes a raw TCP proxy. Failures are local replies with Envoy's flags: 400 for a
// bad authority, 404 NR, 503 NC/UH/UO/UF.
import type { Socket } from "node:net";
import { formatLocalReply, localReplyBodies } from "../proxy/local-reply.ts";
import { RESPONSE_FLAGS, type ResponseFlagSet } from "../telemetry/response-flags.ts";
import { chooseTcpCluster, type TcpSnapshot } from "./choose-tcp-cluster.ts";
import { proxyTcp, type TcpProxy, type TcpProxyEnvironment } from "./tcp-proxy.ts";
import { emptyTcpRecord } from "./tcp-record.ts";

export interface ConnectTunnelOptions {
  /** The CONNECT request target, `host:port` (authority-form; `[v6]:port`). */
  readonly authority: string;
  /** Bytes the client sent after the request head (already read off the socket). */
  readonly leftover?: Buffer | undefined;
  readonly snapshot: TcpSnapshot;
  readonly env: TcpProxyEnvironment;
  readonly random: () => number;
  readonly maxConnectAttempts?: number | undefined;
}

const established = Buffer.from("HTTP/1.1 200 Connection Established\r\n\r\n", "latin1");

/**
 * Takes over `socket` after a CONNECT head: the caller must have removed its own listeners and
 * timeouts. Returns the proxy, or undefined when the request was answered locally (the record
 * still goes to `env.finished`).
 */
export function handleConnectTunnel(socket: Socket, options: ConnectTunnelOptions): TcpProxy | undefined {
  const target = parseAuthority(options.authority);
  if (!target) return answer(socket, options, 400, 0, "", `CONNECT needs a host:port target, got "${options.authority}"`);
  const choice = chooseTcpCluster(options.snapshot, target, options.random);
  if (choice.type === "refuse") {
    return answer(socket, options, choice.status, RESPONSE_FLAGS[choice.flag], choice.cluster, localReplyBodies[choice.flag], choice.routeName);
  }
  return proxyTcp(socket, choice.cluster, options.env, {
    maxConnectAttempts: options.maxConnectAttempts,
    routeName: choice.routeName,
    initialData: options.leftover,
    onConnected: (client) => {
      client.write(established);
    },
    onRefused: (client, flags) => {
      writeReply(client, 503, bodyFor(flags));
    },
  });
}

/** `host:port` → parts; undefined without a valid port (1..65535). */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const colon = authority.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let host = authority.slice(0, colon);
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) return undefined;
    host = host.slice(1, -1);
  } else if (host.includes(":")) {
    return undefined; // a bare IPv6 address must be bracketed
  }
  const portText = authority.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535 || host === "") return undefined;
  return { host, port };
}

function bodyFor(flags: ResponseFlagSet): string {
  if (flags & RESPONSE_FLAGS.UH) return localReplyBodies.UH;
  if (flags & RESPONSE_FLAGS.UO) return localReplyBodies.UO;
  return localReplyBodies.UF;
}

/** How long a client gets to close after a local reply before the proxy closes for it. */
const lingerMs = 2_000;

/**
 * Sends a `connection: close` reply and closes: our FIN goes after the reply, and the socket is
 * destroyed when the client closes its side (or after lingerMs). Destroying at once could reset
 * the connection while the client still has unread bytes in flight, losing the reply.
 */
function writeReply(socket: Socket, status: number, body: string): void {
  if (socket.destroyed) return;
  socket.removeAllListeners("data");
  socket.on("data", () => undefined);
  socket.resume();
  socket.end(formatLocalReply(status, body, [], true));
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
}

function answer(
  socket: Socket,
  options: ConnectTunnelOptions,
  status: number,
  flags: ResponseFlagSet,
  cluster: string,
  body: string,
  routeName = "",
): undefined {
  const record = emptyTcpRecord(options.env.wallClockMs());
  const started = options.env.now();
  record.responseFlags = flags;
  record.upstreamCluster = cluster;
  record.routeName = routeName;
  record.downstreamRemoteAddress = `${socket.remoteAddress ?? ""}:${socket.remotePort ?? 0}`;
  record.downstreamLocalAddress = `${socket.localAddress ?? ""}:${socket.localPort ?? 0}`;
  record.connectionTerminationDetails = status === 400 ? "bad_connect_authority" : "";
  writeReply(socket, status, body);
  socket.once("close", () => {
    record.durationMs = options.env.now() - started;
    options.env.finished(record);
  });
  return undefined;
}
