// Local upstream bindings (Consul Connect's `upstreams`): `--tcp-upstream host:port=localPort`
// opens a local TCP port whose every connection goes to service `host:port`, routed through the
// TCP route table as if the app had dialled the service — for apps that cannot use a proxy.
import type { Socket } from "node:net";
import { chooseTcpCluster, type TcpChoice, type TcpSnapshot } from "./choose-tcp-cluster.ts";

export interface TcpUpstreamBinding {
  /** The service host as written (short names resolve in the proxy's namespace). */
  readonly host: string;
  readonly port: number;
  /** Local address to listen on: 127.0.0.1 unless the binding names one. */
  readonly bindAddress: string;
  readonly localPort: number;
}

export type ParsedBinding = { readonly ok: true; readonly binding: TcpUpstreamBinding } | { readonly ok: false; readonly message: string };

/**
 * Parses `host:port=localPort` or `host:port=bindAddress:localPort` (`[v6]` bracketed).
 * Problems are values whose message quotes the input and shows the expected form.
 */
export function parseTcpUpstreamBinding(text: string): ParsedBinding {
  const expected = `expected service:port=localPort or service:port=bindAddress:localPort, e.g. db.default.svc.cluster.local:5432=15432`;
  const eq = text.indexOf("=");
  if (eq < 0) return { ok: false, message: `--tcp-upstream "${text}": no "="; ${expected}` };
  const service = splitHostPort(text.slice(0, eq));
  if (!service) return { ok: false, message: `--tcp-upstream "${text}": "${text.slice(0, eq)}" is not host:port with a port 1..65535; ${expected}` };
  const local = text.slice(eq + 1);
  const bound = /^\d+$/.test(local) ? { host: "127.0.0.1", port: Number(local) } : splitHostPort(local);
  if (!bound || bound.port < 1 || bound.port > 65535) {
    return { ok: false, message: `--tcp-upstream "${text}": local port "${local}" is not 1..65535 (optionally address:port); ${expected}` };
  }
  return { ok: true, binding: { host: service.host, port: service.port, bindAddress: bound.host, localPort: bound.port } };
}

/** The listener's chooser for a binding: routes each connection with the snapshot current when it arrives. */
export function bindingChooser(binding: TcpUpstreamBinding, snapshot: () => TcpSnapshot, random: () => number): (socket: Socket) => TcpChoice {
  return () => chooseTcpCluster(snapshot(), { host: binding.host, port: binding.port }, random);
}

function splitHostPort(text: string): { host: string; port: number } | undefined {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let host = text.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  else if (host.includes(":")) return undefined;
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || host === "") return undefined;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}
