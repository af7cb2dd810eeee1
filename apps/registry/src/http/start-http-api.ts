// The registry's Consul-compatible HTTP API on node:http: parses each request at the edge (path,
// query, body with a size limit), hands it to handleConsulRequest, writes the answer.
import { randomUUID } from "node:crypto";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { CheckRunner } from "../agent/check-runner.ts";
import type { RegistryServer } from "../registry-contract.ts";
import type { AgentGossip, AgentIdentity, ApiContext, ApiRequest, ApiResponse } from "./api-context.ts";
import { handleConsulRequest } from "./consul-api.ts";

export interface HttpApiOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** This server as its node's agent; defaults to node name = server.nodeId, address = host. */
  readonly agent?: Partial<AgentIdentity> & { readonly checks?: CheckRunner };
  /** The gossip member behind /v1/agent/members (default: none, the list holds only this server). */
  readonly gossip?: AgentGossip;
  /** Consul datacenter name shown in responses (default "dc1"). */
  readonly datacenter?: string;
  /** Largest request body accepted (default 1 MiB; KV values are further limited to 512 KiB). */
  readonly maxBodyBytes?: number;
  /** Metrics hook: every answered request (`path` without the query), once its answer is written. */
  readonly onRequest?: (request: { readonly method: string; readonly path: string; readonly query: URLSearchParams; readonly status: number; readonly durationMs: number }) => void;
}

export interface HttpApi {
  readonly port: number;
  /** The agent's check runner (running checks of this node); `checks.adopt(server.state)` picks up catalog checks. */
  readonly checks: CheckRunner;
  close(): Promise<void>;
}

export const defaultMaxBodyBytes = 1024 * 1024;

/**
 * How long an idle keep-alive connection stays open (announced as `Keep-Alive: timeout=120`).
 * Longer than the clients' own idle timeouts — Go's http.Transport (the Consul API client) keeps
 * idle connections 90 s, Node's http.Agent without a `timeout` forever — so the server does not
 * close a connection just as a client sends a request on it (that client then reads ECONNRESET:
 * node:http's 5 s default did that to the put ×64 benchmark). Consul itself sets no idle timeout.
 */
export const keepAliveTimeoutMs = 120_000;

class BodyTooLargeError extends Error {}

function readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError());
        request.removeAllListeners("data");
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("error", reject);
  });
}

function send(response: ServerResponse, answer: ApiResponse): void {
  if (response.destroyed) return;
  response.writeHead(answer.status, answer.headers);
  response.end(answer.body);
}

/** Consul's `?pretty`: JSON bodies indented by 4. */
export function prettyPrinted(answer: ApiResponse): ApiResponse {
  if (answer.headers["content-type"] !== "application/json" || typeof answer.body !== "string" || answer.body === "") return answer;
  return { ...answer, body: JSON.stringify(JSON.parse(answer.body), null, 4) };
}

export async function startHttpApi(server: RegistryServer, options: HttpApiOptions): Promise<HttpApi> {
  const nodeName = options.agent?.nodeName ?? server.nodeId;
  const checks = options.agent?.checks ?? new CheckRunner({ server, node: nodeName });
  const ctx: ApiContext = {
    server,
    agent: { nodeName, address: options.agent?.address ?? options.host },
    checks,
    ...(options.gossip !== undefined ? { gossip: options.gossip } : {}),
    datacenter: options.datacenter ?? "dc1",
    random: Math.random,
    newSessionId: randomUUID,
  };
  // Checks of this node already in the catalog (a restart) run again; main may call adopt() again once caught up.
  checks.adopt(server.state);
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const httpServer = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://registry");
    if (options.onRequest !== undefined) {
      const { onRequest } = options;
      const start = performance.now();
      response.once("finish", () => onRequest({ method: request.method ?? "GET", path: url.pathname, query: url.searchParams, status: response.statusCode, durationMs: performance.now() - start }));
    }
    if (!url.pathname.startsWith("/v1/")) {
      send(response, { status: 404, headers: { "content-type": "text/plain; charset=utf-8" }, body: `Unknown endpoint ${url.pathname}: the API lives under /v1/` });
      return;
    }
    const abort = new AbortController();
    // Only a request whose client left before the answer is aborted (a normal close needs no DOMException).
    response.once("close", () => {
      if (!response.writableFinished) abort.abort();
    });
    readBody(request, maxBodyBytes).then(
      async (body) => {
        const apiRequest: ApiRequest = {
          method: request.method ?? "GET",
          path: url.pathname.slice("/v1/".length),
          query: url.searchParams,
          body,
          signal: abort.signal,
        };
        const answer = await handleConsulRequest(ctx, apiRequest);
        send(response, url.searchParams.has("pretty") ? prettyPrinted(answer) : answer);
      },
      (error: unknown) => {
        const tooLarge = error instanceof BodyTooLargeError;
        send(response, {
          status: tooLarge ? 413 : 400,
          headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
          body: tooLarge ? `Request body too large: the limit is ${maxBodyBytes} bytes` : `Could not read the request body: ${String(error)}`,
        });
      },
    );
  });
  httpServer.keepAliveTimeout = keepAliveTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port, options.host, () => resolve());
  });
  const address = httpServer.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    port,
    checks,
    close: () =>
      new Promise<void>((resolve, reject) => {
        checks.stop();
        httpServer.close((error) => (error === undefined ? resolve() : reject(error)));
        httpServer.closeAllConnections();
      }),
  };
}
