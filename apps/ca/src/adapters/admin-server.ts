// The admin listener every server has (docs/design/app-conventions.md): /healthz (alive),
// /readyz (200 once serving, 503 before and while stopping) and /metrics (Prometheus text); and,
// when `api` is given, the CA's admin API under /v1/ (adapters/admin-api.ts, authenticated there);
// when `publicJson` is given, the GET paths it answers (the OIDC discovery of JWT-SVID keys).
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";

/** One request to the admin API (/v1/...), body read in full (at most 64 KiB). */
export interface AdminApiRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The peer's address as node:net reports it ("127.0.0.1", "::1", "::ffff:127.0.0.1", ...). */
  readonly remoteAddress: string;
  readonly body: string;
}

/** The admin API's answer: a status and a JSON body. */
export interface AdminApiResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const maxApiBodyBytes = 64 * 1024;

/** Starts the admin HTTP server on `host:port` (0 picks a port); resolves once listening. */
export async function startAdminServer(options: {
  readonly host: string;
  readonly port: number;
  readonly isReady: () => boolean;
  readonly metrics: () => string;
  readonly api?: (request: AdminApiRequest) => Promise<AdminApiResponse>;
  /** Unauthenticated GET paths answered with JSON (undefined: not one of them). */
  readonly publicJson?: (request: { readonly path: string; readonly host: string | undefined; readonly forwardedProto: string | undefined }) => AdminApiResponse | undefined;
}): Promise<{ readonly server: Server; readonly port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const api = options.api;
    if (api !== undefined && path.startsWith("/v1/")) {
      const chunks: Buffer[] = [];
      let size = 0;
      request.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxApiBodyBytes) chunks.push(chunk);
      });
      request.on("end", () => {
        const reply = (answer: AdminApiResponse): void => {
          response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(`${JSON.stringify(answer.body, null, 2)}\n`);
        };
        if (size > maxApiBodyBytes) return reply({ status: 413, body: { error: `request body over ${maxApiBodyBytes} bytes` } });
        api({ method: request.method ?? "GET", path, headers: request.headers, remoteAddress: request.socket.remoteAddress ?? "", body: Buffer.concat(chunks).toString("utf8") }).then(reply, (error: unknown) =>
          reply({ status: 500, body: { error: `internal error: ${error instanceof Error ? error.message : String(error)}; see the CA's log` } }),
        );
      });
      return;
    }
    const forwarded = request.headers["x-forwarded-proto"];
    const publicAnswer = options.publicJson?.({ path, host: request.headers.host, forwardedProto: typeof forwarded === "string" ? forwarded : undefined });
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (publicAnswer !== undefined) {
      response.writeHead(publicAnswer.status, { "content-type": "application/json", ...publicAnswer.headers }).end(`${JSON.stringify(publicAnswer.body, null, 2)}
`);
    } else if (path === "/healthz") {
      response.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ready = options.isReady();
      response.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : "not ready\n");
    } else if (path === "/metrics") {
      response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(options.metrics());
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
