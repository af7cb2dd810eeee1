// Forwards a request the agent does not answer itself to a registry server, as a Consul client
// agent forwards /v1/kv, /v1/catalog, /v1/health... to its servers: same method, path, query and
// body, the request headers that matter (token, content type), and back the server's status, body
// and Consul headers. The server is the RegistryClient's current choice; a server that cannot be
// reached is skipped for the next. A request the server may have received is never sent again
// unless it is a read (GET/HEAD): a KV write or a session create must not happen twice.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseDurationMs } from "../http/consul-duration.ts";
import { defaultWaitMs, jitterFraction, maxWaitMs } from "../http/query-params.ts";
import type { RegistryClient } from "./registry-client.ts";

/** How long a request that does not block may take at a server before the agent gives up on it. */
export const forwardTimeoutMs = 60_000;

/**
 * Time a blocking query is given beyond its `?wait` (plus the server's jitter of wait/16): the
 * server answers at the wait's end, so this only covers the trip and a busy server.
 */
export const blockingSlackMs = 15_000;

/** A server that has not accepted the connection by then is taken as down (the next one is tried). */
export const connectTimeoutMs = 5_000;

/** Request headers passed to the server: the body's type and the caller's credentials. */
const passedRequestHeaders = new Set(["content-type", "authorization", "accept", "user-agent"]);

/** Response headers passed back besides every X-Consul-*: what a client needs to read the answer. */
const passedResponseHeaders = new Set(["content-type", "content-length", "location", "allow", "retry-after"]);

/**
 * Connection errors that happen before a byte of the request left: any request may go to the next
 * server after one of these. ECONNRESET on a reused keep-alive socket is one too (the server had
 * closed it idle; Node's docs recommend retrying exactly this case).
 */
const notSentCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED", "EADDRNOTAVAIL", "CONNECT_TIMEOUT"]);

/** The headers sent to the server: content-type, Authorization, X-Consul-* (the token), and the body's length. */
export function forwardedRequestHeaders(headers: IncomingHttpHeaders, bodyBytes: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (passedRequestHeaders.has(name) || name.startsWith("x-consul-")) out[name] = value;
  }
  out["content-length"] = bodyBytes;
  return out;
}

/** The server's headers the caller gets back: X-Consul-* (index, known leader, last contact, consistency, ACL policy...) and the body's type. */
export function returnedResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (passedResponseHeaders.has(name) || name.startsWith("x-consul-")) out[name] = value;
  }
  return out;
}

/**
 * How long the agent waits for the server's answer: a blocking query (`?index=` > 0, Consul's rule)
 * gets its `?wait` (default 5 min, capped at 10 min as the server caps it) plus the server's jitter
 * and some slack; anything else `forwardTimeoutMs`. A bad `?wait` is the server's to refuse.
 */
export function forwardDeadlineMs(query: URLSearchParams): number {
  const index = query.get("index");
  if (index === null || index === "" || index === "0") return forwardTimeoutMs;
  const waitText = query.get("wait");
  let waitMs = defaultWaitMs;
  if (waitText !== null && waitText !== "") {
    try {
      waitMs = Math.min(parseDurationMs(waitText, "?wait"), maxWaitMs);
    } catch {
      return forwardTimeoutMs;
    }
  }
  return waitMs + Math.ceil(waitMs / jitterFraction) + blockingSlackMs;
}

/** Whether the request may be sent again after the server may have got it. */
function isRead(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

type Attempt =
  | { readonly type: "answered"; readonly upstream: IncomingMessage }
  | { readonly type: "failed"; readonly reason: string; readonly sent: boolean };

export interface ForwardOptions {
  readonly client: Pick<RegistryClient, "server" | "serverUrls" | "skip">;
  /** The request's body, already read (the agent reads it with the server's own size limit). */
  readonly body: Uint8Array;
  /** The request target as received: path and query. */
  readonly target: string;
  readonly query: URLSearchParams;
}

/**
 * Forwards `request` and writes the server's answer to `response`, streaming its body. Resolves
 * once the answer was handed over (or the caller left). When no server answers, writes Consul's
 * 500 naming every server tried and why.
 */
export async function forwardToServer(request: IncomingMessage, response: ServerResponse, options: ForwardOptions): Promise<void> {
  const method = request.method ?? "GET";
  const { client } = options;
  // Every server once, starting at the client's current choice.
  const servers = client.serverUrls;
  const first = Math.max(0, servers.indexOf(client.server));
  const order = [...servers.slice(first), ...servers.slice(0, first)];
  const reasons: string[] = [];
  // The caller left: stop the upstream request (a blocking query would otherwise hold a server slot for minutes).
  const left = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) left.abort();
  });
  for (const server of order) {
    const attempt = await send(server, method, request.headers, options, left.signal);
    if (attempt.type === "answered") {
      const { upstream } = attempt;
      // A read that met a server without a leader may do better at the next one; a write stands as answered.
      const status = upstream.statusCode ?? 502;
      if (status >= 500 && isRead(method) && server !== order.at(-1)) {
        const text = await readText(upstream);
        reasons.push(`${server}: ${status} ${text.trim()}`);
        client.skip(server, `${status} ${text.trim()}`);
        continue;
      }
      response.writeHead(status, returnedResponseHeaders(upstream.headers));
      upstream.pipe(response);
      await new Promise<void>((resolve) => {
        upstream.once("end", resolve);
        upstream.once("error", () => resolve());
        response.once("close", () => resolve());
      });
      if (!upstream.complete) response.destroy();
      return;
    }
    if (left.signal.aborted) return;
    reasons.push(`${server}: ${attempt.reason}`);
    client.skip(server, attempt.reason);
    if (attempt.sent && !isRead(method)) {
      // The server may have applied it: answer as Consul does for a failed RPC, and do not repeat it.
      writeText(response, 500, `${method} ${options.target} failed at registry server ${server} (${attempt.reason}); it was not retried elsewhere because the server may have applied it: read back to check, then retry`);
      return;
    }
  }
  writeText(response, 500, `No known Consul servers: no registry server answered ${method} ${options.target} (tried ${reasons.join("; ")}); check that a --server is up`);
}

function send(server: string, method: string, headers: IncomingHttpHeaders, options: ForwardOptions, signal: AbortSignal): Promise<Attempt> {
  return new Promise((resolve) => {
    // Appended, not resolved: a target is always an absolute path here, never a host to go to.
    const url = new URL(`${server}${options.target}`);
    const open = url.protocol === "https:" ? httpsRequest : httpRequest;
    let connected = false;
    let settled = false;
    const done = (attempt: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(attempt);
    };
    const outgoing = open(url, { method, headers: forwardedRequestHeaders(headers, options.body.byteLength), signal }, (upstream) => done({ type: "answered", upstream }));
    const timeoutMs = forwardDeadlineMs(options.query);
    const giveUp = (reason: string): void => {
      done({ type: "failed", reason, sent: connected });
      outgoing.destroy();
    };
    let timer = setTimeout(() => giveUp(`connect timed out after ${connectTimeoutMs} ms`), connectTimeoutMs);
    const onConnected = (): void => {
      connected = true;
      clearTimeout(timer);
      timer = setTimeout(() => giveUp(`no answer within ${timeoutMs} ms`), timeoutMs);
    };
    outgoing.once("socket", (socket) => {
      if (!socket.connecting) onConnected();
      else socket.once("connect", onConnected);
    });
    outgoing.once("error", (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.name;
      const stale = code === "ECONNRESET" && outgoing.reusedSocket;
      done({ type: "failed", reason: code === "ABORT_ERR" ? "the caller left" : code, sent: connected && !stale && !notSentCodes.has(code) });
    });
    outgoing.end(options.body);
  });
}

function readText(message: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    message.on("data", (chunk: Buffer) => chunks.push(chunk));
    message.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    message.once("error", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function writeText(response: ServerResponse, status: number, text: string): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(text);
}
