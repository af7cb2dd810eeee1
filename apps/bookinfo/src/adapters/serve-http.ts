// Runs one bookinfo service's HTTP listener: dispatches to its handler, adds the 12-factor probes
// and metrics (`/healthz`, `/readyz`, `/metrics`), logs each exchange at debug level, turns a handler that throws into
// a 500, and stops gracefully (readiness off, no new connections, in-flight requests finish).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@meshwork/telemetry";
import { sendJson, sendText } from "./http-reply.ts";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface ServeOptions {
  /** The service's name, the `service` label of its metrics. */
  readonly name: string;
  readonly port: number;
  readonly bind: string;
  readonly logger: Logger;
  /** How long in-flight requests get to finish on close before their connections are cut; default 5000 ms. */
  readonly drainMs?: number;
}

export interface HttpService {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** From now on `/readyz` answers 503 and responses ask clients to close their connection. */
  markStopping(): void;
  /** Stops accepting, waits for in-flight requests (up to drainMs), then resolves. */
  close(): Promise<void>;
}

export async function serveHttp(handler: RequestHandler, options: ServeOptions): Promise<HttpService> {
  const { logger } = options;
  let stopping = false;
  const inFlight = new Set<ServerResponse>();
  /** Requests answered by the handler, by status code. */
  const answered = new Map<number, number>();
  const stop = (): void => {
    stopping = true;
    // Responses not yet started tell their client to close, so keep-alive connections end with them.
    for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
  };
  const server = createServer((req, res) => {
    const started = performance.now();
    if (stopping) res.setHeader("connection", "close");
    inFlight.add(res);
    res.on("close", () => inFlight.delete(res));
    res.on("finish", () => {
      answered.set(res.statusCode, (answered.get(res.statusCode) ?? 0) + 1);
      if (logger.isLevelEnabled("debug")) {
        logger.debug("request", { method: req.method, path: req.url, status: res.statusCode, durationMs: Math.round(performance.now() - started) });
      }
    });
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") return sendText(res, 200, "ok\n");
    if (req.method === "GET" && path === "/readyz") return stopping ? sendText(res, 503, "stopping\n") : sendText(res, 200, "ready\n");
    if (req.method === "GET" && path === "/metrics") return sendMetrics(res, formatMetrics(options.name, answered));
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => {
        logger.error("request failed", { err: error, method: req.method, path: req.url });
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.bind, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    markStopping: stop,
    close: () =>
      new Promise<void>((resolve) => {
        stop();
        const cut = setTimeout(() => server.closeAllConnections(), options.drainMs ?? 5000);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * Prometheus text format: requests by status code (probes and /metrics included) and the
 * process's CPU time and resident memory. The sidecar reports Istio's request metrics; these
 * only show the process itself is alive and busy.
 */
function formatMetrics(service: string, answered: ReadonlyMap<number, number>): string {
  const lines = ["# HELP bookinfo_requests_total HTTP requests this service answered.", "# TYPE bookinfo_requests_total counter"];
  for (const [code, count] of [...answered].sort(([a], [b]) => a - b)) lines.push(`bookinfo_requests_total{service="${service}",code="${code}"} ${count}`);
  const cpu = process.cpuUsage();
  lines.push(
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    "# TYPE process_cpu_seconds_total counter",
    `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
    "# HELP process_resident_memory_bytes Resident memory size in bytes.",
    "# TYPE process_resident_memory_bytes gauge",
    `process_resident_memory_bytes ${process.memoryUsage().rss}`,
  );
  return `${lines.join("\n")}\n`;
}

function sendMetrics(res: ServerResponse, text: string): void {
  res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}
