// Addresses as Envoy prints them in access logs: `ip:port`, `[ip]:port` for IPv6, "" unknown.
import type { Socket } from "node:net";

/** `host:port` (`[host]:port` for an IPv6 host); "" when the host is unknown. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return "";
  return host.includes(":") ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

/** The local end of `socket` (`upstream_local_address`, `downstream_local_address`); "" before it connected. */
export function localAddressOf(socket: Pick<Socket, "localAddress" | "localPort"> | undefined | null): string {
  return socket ? formatAddress(socket.localAddress, socket.localPort) : "";
}
