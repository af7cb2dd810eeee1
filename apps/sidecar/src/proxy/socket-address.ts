// Addresses as Envoy prints them in access logs: `ip:port`, `[ip]:port` for IPv6, "" unknown; and
// the connection a request arrived on, as the external authorizer's check describes it (and
// reads the request's body for it).
import type { Socket } from "node:net";
import type { RequestHead } from "../http1/parse-request-head.ts";

/**
 * The client connection a request arrived on, for an external authorizer's check (Envoy's
 * AttributeContext source and destination addresses and HttpRequest.protocol). Listeners pass
 * one per request: the HTTP/1.1 connection itself (one request at a time), one object per HTTP/2 stream.
 */
export interface ArrivalConnection {
  readonly socket: Pick<Socket, "remoteAddress" | "remotePort" | "localAddress" | "localPort">;
  readonly protocol: "HTTP/1.1" | "HTTP/2";
  /**
   * Reads the body of the request being decided (`head`) for an external authorizer that asks
   * for it (includeRequestBodyInCheck), while the decision is pending: payload bytes (framing
   * removed) until `stopAtBytes` are held or the body ends. The bytes read stay queued and go
   * upstream unchanged, before the rest of the body, once the request is forwarded. Undefined when
   * the request has no body (then the check carries none, as Envoy's for a request that ended
   * with its headers), or when the connection cannot read bodies ahead.
   */
  readonly readRequestBody?: ((head: RequestHead, stopAtBytes: number) => Promise<RequestBodyRead> | undefined) | undefined;
}

/** What readRequestBody read: the payload and whether it is the whole body, or why it could not be read. */
export type RequestBodyRead =
  | { readonly type: "body"; readonly body: Buffer; readonly complete: boolean }
  /** The client went away, or the body's framing is malformed (`details`: Envoy's response code details). */
  | { readonly type: "failed"; readonly details: string };

/** `host:port` (`[host]:port` for an IPv6 host); "" when the host is unknown. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return "";
  return host.includes(":") ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

/** The local end of `socket` (`upstream_local_address`, `downstream_local_address`); "" before it connected. */
export function localAddressOf(socket: Pick<Socket, "localAddress" | "localPort"> | undefined | null): string {
  return socket ? formatAddress(socket.localAddress, socket.localPort) : "";
}
