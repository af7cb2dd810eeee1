// Runs one of the application's original probes from inside the pod, as the kubelet would have:
// an HTTP(S) GET whose status the kubelet then judges (200-399 healthy), or a TCP connect. The
// sidecar's uid is exempt from outbound capture, so these reach the application directly.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { request as HttpsRequest } from "node:https";
import { connect } from "node:net";
import { formatAddress } from "../proxy/socket-address.ts";
import type { AppProber } from "./parse-app-probers.ts";

export interface ProbeResult {
  /** The application's status code (HTTP), 200 (TCP connected), or 500 when the probe failed. */
  readonly status: number;
  /** Why it failed, or the status line; for the kubelet's event message. */
  readonly detail: string;
}

export interface ProbeOptions {
  /** Where the application listens when the probe names no host (the sidecar's --app-host). */
  readonly defaultHost: string;
  /** Headers of the kubelet's request passed on (User-Agent, Accept); the probe's own headers win. */
  readonly forwardedHeaders?: IncomingHttpHeaders;
}

/** Runs `prober`; never rejects. */
export function probeApp(prober: AppProber, options: ProbeOptions): Promise<ProbeResult> {
  const host = prober.host ?? options.defaultHost;
  return prober.type === "tcpSocket" ? probeTcp(host, prober.port, prober.timeoutSeconds * 1000) : probeHttp(prober, host, options.forwardedHeaders ?? {});
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (result: ProbeResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.once("connect", () => done({ status: 200, detail: `connected to ${host}:${port}` }));
    socket.once("timeout", () => done({ status: 500, detail: `connecting to ${host}:${port} timed out after ${timeoutMs} ms` }));
    socket.once("error", (error) => done({ status: 500, detail: `connecting to ${host}:${port}: ${error.message}` }));
  });
}

function probeHttp(prober: Extract<AppProber, { type: "httpGet" }>, host: string, forwarded: IncomingHttpHeaders): Promise<ProbeResult> {
  const headers: Record<string, string> = {};
  for (const name of ["user-agent", "accept"]) {
    const value = forwarded[name];
    if (typeof value === "string") headers[name] = value;
  }
  for (const [name, value] of prober.headers) headers[name.toLowerCase()] = value;
  const target = `${prober.scheme.toLowerCase()}://${formatAddress(host, prober.port)}${prober.path}`;
  if (prober.scheme !== "HTTPS") return sendProbe(httpRequest, prober, host, headers, target);
  // node:https only for an HTTPS prober (loaded by its first probe).
  return import("node:https").then(
    ({ request }) => sendProbe(request, prober, host, headers, target),
    (error: Error) => ({ status: 500, detail: `${target}: ${error.message}` }),
  );
}

function sendProbe(
  request: typeof httpRequest | typeof HttpsRequest,
  prober: Extract<AppProber, { type: "httpGet" }>,
  host: string,
  headers: Record<string, string>,
  target: string,
): Promise<ProbeResult> {
  const timeoutMs = prober.timeoutSeconds * 1000;
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    // The kubelet does not verify the application's certificate either.
    const req = request({ host, port: prober.port, path: prober.path, method: "GET", headers, agent: false, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.once("end", () => done({ status: res.statusCode ?? 500, detail: `${target}: ${res.statusCode} ${res.statusMessage ?? ""}`.trimEnd() }));
      res.once("error", (error) => done({ status: 500, detail: `${target}: ${error.message}` }));
    });
    const timer = setTimeout(() => done({ status: 500, detail: `${target}: no answer within ${timeoutMs} ms` }), timeoutMs);
    req.once("error", (error) => done({ status: 500, detail: `${target}: ${error.message}` }));
    req.end();
  });
}
