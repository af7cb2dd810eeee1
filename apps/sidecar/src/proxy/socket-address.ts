// Addresses as Envoy prints them in access logs: `ip:port`, `[ip]:port` for IPv6, "" unknown; and
// the connection a request arrived on, as the external authorizer's check describes it.
import type { Socket } from "node:net";

/**
 * The client connection a request arrived on, for an envoyExtAuthzGrpc check (Envoy's
 * AttributeContext source and destination addresses and HttpRequest.protocol). Listeners pass
 * one per connection (the HTTP/1.1 connection itself; one object per HTTP/2 session).
 */
export interface ArrivalConnection {
  readonly socket: Pick<Socket, "remoteAddress" | "remotePort" | "localAddress" | "localPort">;
  readonly protocol: "HTTP/1.1" | "HTTP/2";
}

/** `host:port` (`[host]:port` for an IPv6 host); "" when the host is unknown. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return "";
  return host.includes(":") ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

/** The local end of `socket` (`upstream_local_address`, `downstream_local_address`); "" before it connected. */
export function localAddressOf(socket: Pick<Socket, "localAddress" | "localPort"> | undefined | null): string {
  return socket ? formatAddress(socket.localAddress, socket.localPort) : "";
}
