// The agent's client of the registry servers' Consul HTTP API, with failover: a request goes to
// the server that answered last; a network error, a timeout or a 5xx (e.g. "No cluster leader")
// moves it to the next server, until each was tried once. Servers redirect (307) to the leader by
// themselves and forward writes, so any live server will do.
import { AgentSettingsError } from "./agent-services.ts";

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export interface RegistryClientOptions {
  readonly fetch?: FetchFn;
  /** Per attempt (default 5 s). */
  readonly timeoutMs?: number;
  /** Told when a server failed and the next is tried. */
  readonly onFailover?: (server: string, reason: string) => void;
}

/** Every server failed (network, timeout, 5xx): the reasons, one per server. */
export class RegistryUnavailableError extends Error {
  readonly reasons: readonly string[];
  constructor(reasons: readonly string[]) {
    super(`no registry server accepted the request: ${reasons.join("; ")}`);
    this.reasons = reasons;
    this.name = "RegistryUnavailableError";
  }
}

/** A server refused the request (4xx): a bug or a bad definition; not retried elsewhere. */
export class RegistryRefusedError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    this.name = "RegistryRefusedError";
  }
}

/** A server's answer to a GET. */
export interface RegistryReadAnswer {
  readonly status: number;
  readonly text: string;
  /** Its X-Consul-Index; 0 when it had none. */
  readonly index: number;
}

export class RegistryClient {
  private readonly servers: readonly string[];
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  private readonly onFailover: (server: string, reason: string) => void;
  private current = 0;

  constructor(servers: readonly string[], options: RegistryClientOptions = {}) {
    if (servers.length === 0) throw new AgentSettingsError("--server is required: the Consul HTTP API of a registry server, e.g. --server http://10.0.0.1:8500");
    this.servers = servers.map((server) => {
      let url: URL;
      try {
        url = new URL(server);
      } catch {
        throw new AgentSettingsError(`invalid --server "${server}": use http://HOST:PORT (a registry server's --http-port)`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new AgentSettingsError(`invalid --server "${server}": use http://HOST:PORT`);
      return url.origin;
    });
    this.fetchFn = options.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.onFailover = options.onFailover ?? (() => undefined);
  }

  /** The server the next request goes to first. */
  get server(): string {
    return this.servers[this.current] ?? "";
  }

  /** Every --server origin, in the order given. */
  get serverUrls(): readonly string[] {
    return this.servers;
  }

  /**
   * Moves the next requests past `server`, which just failed (the HTTP forwarder shares this
   * choice). A no-op when another request already moved on from it: two requests failing on the
   * same server together skip it once, not it and the good one after it.
   */
  skip(server: string, reason: string): void {
    if (this.server !== server) return;
    this.current = (this.current + 1) % this.servers.length;
    if (this.servers.length > 1) this.onFailover(server, reason);
  }

  /** PUTs `body` as JSON; resolves with the answer's text. */
  async put(path: string, body: unknown): Promise<string> {
    const reasons: string[] = [];
    for (let attempt = 0; attempt < this.servers.length; attempt++) {
      const server = this.server;
      let response: Response;
      try {
        response = await this.fetchFn(`${server}${path}`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        this.failover(server, `${server}: ${describeFetchError(error)}`, reasons);
        continue;
      }
      const text = await response.text().catch(() => "");
      if (response.status >= 500) {
        this.failover(server, `${server}: ${response.status} ${text.trim()}`, reasons);
        continue;
      }
      if (response.status >= 400) throw new RegistryRefusedError(response.status, `${server} refused PUT ${path}: ${response.status} ${text.trim()}`);
      return text;
    }
    throw new RegistryUnavailableError(reasons);
  }

  /**
   * GETs `path` (path and query): a read, so a server that fails is skipped for the next like a
   * PUT's. Resolves with the first answer below 500 — a 4xx included, for the caller to read (a
   * 404 of an unknown prepared query is an answer) — and its X-Consul-Index (0 without one).
   */
  async get(path: string, options: { readonly timeoutMs?: number } = {}): Promise<RegistryReadAnswer> {
    const reasons: string[] = [];
    for (let attempt = 0; attempt < this.servers.length; attempt++) {
      const server = this.server;
      let status: number;
      let text: string;
      let index: number;
      try {
        const response = await this.fetchFn(`${server}${path}`, { method: "GET", signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs) });
        status = response.status;
        index = Number(response.headers.get("x-consul-index") ?? "0") || 0;
        text = await response.text();
      } catch (error) {
        this.failover(server, `${server}: ${describeFetchError(error)}`, reasons);
        continue;
      }
      if (status >= 500) {
        this.failover(server, `${server}: ${status} ${text.trim()}`, reasons);
        continue;
      }
      return { status, text, index };
    }
    throw new RegistryUnavailableError(reasons);
  }

  private failover(server: string, reason: string, reasons: string[]): void {
    reasons.push(reason);
    this.skip(server, reason);
  }
}

export function describeFetchError(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "timed out";
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
