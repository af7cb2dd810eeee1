// The registry's admin listener (docs/design/app-conventions.md): GET /healthz (the process is up
// and serving), GET /readyz (checkReadiness: 200 or 503 with the reason as JSON) and GET /metrics
// (Prometheus text). Kept apart from the Consul API port so probes and scrapes never queue behind
// blocking queries and the API port can be firewalled differently.
import { createServer, type ServerResponse } from "node:http";
import type { Readiness } from "./check-readiness.ts";

export interface AdminServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly readiness: () => Promise<Readiness>;
  readonly metrics: () => Promise<{ readonly contentType: string; readonly body: string }>;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

function reply(response: ServerResponse, status: number, contentType: string, body: string): void {
  if (response.destroyed) return;
  response.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  response.end(body);
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://admin").pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      reply(response, 405, "text/plain; charset=utf-8", `method ${request.method} not allowed: the admin endpoints are read-only\n`);
      return;
    }
    const fail = (error: unknown) => reply(response, 500, "text/plain; charset=utf-8", `${error instanceof Error ? error.message : String(error)}\n`);
    switch (path) {
      case "/healthz":
        reply(response, 200, "text/plain; charset=utf-8", "ok\n");
        return;
      case "/readyz":
        options.readiness().then((readiness) => reply(response, readiness.ready ? 200 : 503, "application/json", `${JSON.stringify(readiness)}\n`), fail);
        return;
      case "/metrics":
        options.metrics().then((metrics) => reply(response, 200, metrics.contentType, metrics.body), fail);
        return;
      default:
        reply(response, 404, "text/plain; charset=utf-8", `unknown admin endpoint ${path}: use /healthz, /readyz or /metrics\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
