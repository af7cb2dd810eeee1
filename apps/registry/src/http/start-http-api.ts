// The registry's Consul-compatible HTTP API on node:http: parses each request at the edge (path,
// query, body with a size limit), hands it to handleConsulRequest, writes the answer.
import { randomUUID } from "node:crypto";
import { type ServerResponse, createServer } from "node:http";
import { CheckRunner } from "../agent/check-runner.ts";
import { UserEvents } from "../events/user-events.ts";
import type { RegistryServer } from "../registry-contract.ts";
import type { AgentGossip, AgentIdentity, ApiContext, ApiRequest, ApiResponse, Autopilot } from "./api-context.ts";
import { instancesOfNode } from "./catalog-view.ts";
import { handleConsulRequest } from "./consul-api.ts";
import { BodyTooLargeError, readBody } from "./read-body.ts";
import { maxSnapshotBodyBytes, snapshotTooLargeMessage } from "./snapshot-routes.ts";

export interface HttpApiOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** This server as its node's agent; defaults to node name = server.nodeId, address = host. */
  readonly agent?: Partial<AgentIdentity> & { readonly checks?: CheckRunner };
  /** The gossip member behind /v1/agent/members (default: none, the list holds only this server). */
  readonly gossip?: AgentGossip;
  /** The leader's Raft membership reconcile behind /v1/operator/autopilot/* (default: none, 404 there). */
  readonly autopilot?: Autopilot;
  /** Consul datacenter name shown in responses (default "dc1"). */
  readonly datacenter?: string;
  /** Largest request body accepted (default 1 MiB; KV values are further limited to 512 KiB; `PUT /v1/snapshot` has its own limit, `maxSnapshotBodyBytes`). */
  readonly maxBodyBytes?: number;
  /** Metrics hook: every answered request (`path` without the query), once its answer is written. */
  readonly onRequest?: (request: { readonly method: string; readonly path: string; readonly query: URLSearchParams; readonly status: number; readonly durationMs: number }) => void;
}

export interface HttpApi {
  readonly port: number;
  /** The agent's check runner (running checks of this node); `checks.adopt(server.state)` picks up catalog checks. */
  readonly checks: CheckRunner;
  /**
   * This agent's user events (/v1/event/*). Delivered here only until `events.spreadWith` hands
   * them to a gossip pool, whose received user events the caller passes to `events.receive`.
   */
  readonly events: UserEvents;
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

/**
 * A request target whose path the WHATWG URL parser would leave as it is: absolute, only
 * characters it does not escape, no dot segments (also not as `%2e`). Those skip `new URL` (a
 * parse per request); anything else goes through it, normalized as before.
 */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*(?:\?[\x21\x22\x24-\x7e]*)?$/;
const DOT_SEGMENT = /\/(?:\.|%2e)/i;

/**
 * The path (percent-encoded, as the URL parser gives it) and the query of a request target. A path
 * starting with `//` is a path (`new URL("//x", base)` would read `x` as a host, and throw on `//`);
 * a target the URL parser refuses comes back as it is, with no query (the API answers 404).
 */
export function parseTarget(target: string): { readonly pathname: string; readonly query: URLSearchParams } {
  const q = target.indexOf("?");
  const pathname = q === -1 ? target : target.slice(0, q);
  if (PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(pathname)) return { pathname, query: new URLSearchParams(q === -1 ? "" : target.slice(q)) };
  try {
    const url = target.startsWith("/") ? new URL(`http://registry${target}`) : new URL(target, "http://registry");
    return { pathname: url.pathname, query: url.searchParams };
  } catch {
    return { pathname: target, query: new URLSearchParams() };
  }
}

/**
 * A request as the routes see it. Its abort signal is made only when a route asks for it
 * (blocking queries): most requests never read it, and an AbortController plus a close listener
 * per request is CPU and garbage on every put. Aborts when the client left before the answer was written.
 */
class NodeApiRequest implements ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Uint8Array;
  private readonly response: ServerResponse;
  private abort: AbortController | undefined;

  constructor(method: string, path: string, query: URLSearchParams, body: Uint8Array, response: ServerResponse) {
    this.method = method;
    this.path = path;
    this.query = query;
    this.body = body;
    this.response = response;
  }

  get signal(): AbortSignal {
    if (this.abort !== undefined) return this.abort.signal;
    const controller = new AbortController();
    this.abort = controller;
    const response = this.response;
    if (response.closed) {
      if (!response.writableFinished) controller.abort();
    } else {
      // Only a request whose client left before the answer is aborted (a normal close needs no DOMException).
      response.once("close", () => {
        if (!response.writableFinished) controller.abort();
      });
    }
    return controller.signal;
  }
}

/**
 * Writes an answer with its Content-Length, as Consul does: after `writeHead` without one, Node
 * would send the body chunked, which the client must decode (three more lines for a `true`).
 */
function send(response: ServerResponse, answer: ApiResponse): void {
  if (response.destroyed) return;
  const body = answer.body;
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  response.writeHead(answer.status, { ...answer.headers, "content-length": length });
  response.end(body);
}

/** Consul's `?pretty`: JSON bodies indented by 4. */
export function prettyPrinted(answer: ApiResponse): ApiResponse {
  if (answer.headers["content-type"] !== "application/json" || typeof answer.body !== "string" || answer.body === "") return answer;
  return { ...answer, body: JSON.stringify(JSON.parse(answer.body), null, 4) };
}

export async function startHttpApi(server: RegistryServer, options: HttpApiOptions): Promise<HttpApi> {
  const nodeName = options.agent?.nodeName ?? server.nodeId;
  const checks = options.agent?.checks ?? new CheckRunner({ server, node: nodeName });
  const events = new UserEvents({
    node: nodeName,
    localServices: () => instancesOfNode(server.state, nodeName).map(({ service }) => ({ id: service.id, service: service.service, tags: service.tags })),
  });
  const ctx: ApiContext = {
    server,
    agent: { nodeName, address: options.agent?.address ?? options.host },
    checks,
    events,
    ...(options.gossip !== undefined ? { gossip: options.gossip } : {}),
    ...(options.autopilot !== undefined ? { autopilot: options.autopilot } : {}),
    datacenter: options.datacenter ?? "dc1",
    random: Math.random,
    newId: randomUUID,
  };
  // Checks of this node already in the catalog (a restart) run again; main may call adopt() again once caught up.
  checks.adopt(server.state);
  // A restore (or a Raft snapshot installed from the leader) replaced the catalog: run what it has for this node.
  const unsubscribe = server.onStateReplaced?.(() => checks.sync(server.state));
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const httpServer = createServer((request, response) => {
    const { pathname, query } = parseTarget(request.url ?? "/");
    if (options.onRequest !== undefined) {
      const { onRequest } = options;
      const start = performance.now();
      response.once("finish", () => onRequest({ method: request.method ?? "GET", path: pathname, query, status: response.statusCode, durationMs: performance.now() - start }));
    }
    if (!pathname.startsWith("/v1/")) {
      send(response, { status: 404, headers: { "content-type": "text/plain; charset=utf-8" }, body: `Unknown endpoint ${pathname}: the API lives under /v1/` });
      return;
    }
    // A restore's body is a whole saved state: it has its own (larger) limit.
    const isRestore = pathname === "/v1/snapshot" && request.method !== "GET";
    const limit = isRestore ? Math.max(maxBodyBytes, maxSnapshotBodyBytes) : maxBodyBytes;
    readBody(request, limit).then(
      async (body) => {
        const apiRequest = new NodeApiRequest(request.method ?? "GET", pathname.slice("/v1/".length), query, body, response);
        const answer = await handleConsulRequest(ctx, apiRequest);
        send(response, query.has("pretty") ? prettyPrinted(answer) : answer);
      },
      (error: unknown) => {
        const tooLarge = error instanceof BodyTooLargeError;
        send(response, {
          status: tooLarge ? 413 : 400,
          headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
          body: !tooLarge ? `Could not read the request body: ${String(error)}` : isRestore ? snapshotTooLargeMessage(undefined) : `Request body too large: the limit is ${maxBodyBytes} bytes`,
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
    events,
    close: () =>
      new Promise<void>((resolve, reject) => {
        unsubscribe?.();
        checks.stop();
        httpServer.close((error) => (error === undefined ? resolve() : reject(error)));
        httpServer.closeAllConnections();
      }),
  };
}
