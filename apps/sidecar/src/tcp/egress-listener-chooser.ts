// The cluster of a connection to a TCP Sidecar egress listener (one the sidecar binds itself:
// captureMode NONE or a bind). Istio merges the TCP filter chains of the services imported on a
// bound listener's port and, their matches being identical, keeps the first service's (the others
// are reported as conflicts): every connection goes where a connection to that service's
// host:port would — its VirtualService tcp routes, else its default cluster.
import type { Socket } from "node:net";
import type { EgressListener } from "@meshwork/proxy-core";
import { chooseTcpCluster, type TcpChoice, type TcpSnapshot } from "./choose-tcp-cluster.ts";

/** The TCP listener's chooser; `listener` is read per connection (a config push replaces it). */
export function egressListenerChooser(listener: () => EgressListener, snapshot: () => TcpSnapshot, random: () => number): (socket: Socket) => TcpChoice {
  return () => {
    const current = listener();
    const host = current.hosts[0];
    // No service is imported on the port: nothing to reach (Envoy would have no filter chain).
    if (host === undefined) return { type: "refuse", flag: "NR", status: 404, routeName: "", cluster: "" };
    return chooseTcpCluster(snapshot(), { host, port: current.port }, random);
  };
}
