// Consul's TCP check: passing when a connection to host:port opens within the timeout.
import { connect } from "node:net";
import type { ProbeResult } from "./probe-result.ts";

/** Splits `host:port` (or `[v6]:port`). */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port <= 0 || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? "", port };
}

export function probeTcp(address: string, timeoutMs: number): Promise<ProbeResult> {
  const target = splitHostPort(address);
  if (target === undefined) return Promise.resolve({ status: "critical", output: `dial tcp ${address}: invalid address, use host:port` });
  return new Promise((resolve) => {
    const socket = connect({ host: target.host === "" ? "127.0.0.1" : target.host, port: target.port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: "critical", output: `dial tcp ${address}: i/o timeout after ${timeoutMs}ms` }), timeoutMs);
    socket.once("connect", () => finish({ status: "passing", output: `TCP connect ${address}: Success` }));
    socket.once("error", (error) => finish({ status: "critical", output: `dial tcp ${address}: ${error.message}` }));
  });
}
