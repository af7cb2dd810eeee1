// The CUSTOM action's external authorizer client over HTTP, as Envoy's ext_authz filter talks to
// an Istio `envoyExtAuthzHttp` provider: a bodiless check request with the original method,
// pathPrefix + path and the selected headers; 200 allows (with headers for the upstream and the
// client), any other status denies with the authorizer's status, body and headers, and a failure
// (unreachable, timeout, 5xx) denies with statusOnError unless failOpen.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { externalAuthzDeniedFlag } from "@meshwork/proxy-core";
import type { ExtAuthzHttpProvider, HeaderNamePatterns } from "./mesh-authz-config.ts";

/** What the check needs of the original request. Header names in lower case; repeated headers joined with ",". */
export interface ExternalCheckRequest {
  readonly method: string;
  /** Path with query, as received (after normalization). */
  readonly path: string;
  /** `:authority` / Host. */
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type HeaderList = readonly (readonly [string, string])[];

export type ExternalCheckResult =
  | {
      readonly allowed: true;
      /** Headers to set on the upstream request (headersToUpstreamOnAllow), replacing same-named ones. */
      readonly upstreamHeaders: HeaderList;
      /** Headers to add to the response to the client (headersToDownstreamOnAllow). */
      readonly downstreamHeaders: HeaderList;
      /** Set when the authorizer failed and the provider is failOpen. */
      readonly failedOpen?: string;
    }
  | {
      readonly allowed: false;
      /** The authorizer's status on a denial; statusOnError when it failed. */
      readonly status: number;
      readonly headers: HeaderList;
      readonly body: Buffer;
      /** Envoy's response flag for the access log. */
      readonly flag: typeof externalAuthzDeniedFlag;
      /** The authorizer failed (unreachable, timeout, 5xx) rather than denied. */
      readonly failed: boolean;
      /** For logs: "denied by <provider> with 401", or the failure. */
      readonly reason: string;
    };

export interface CheckExternalOptions {
  /** Where to connect; default the provider's service and port (which must then resolve by DNS). */
  readonly address?: { readonly host: string; readonly port: number };
  /** Aborts the check (e.g. the client went away); the result is then a failure. */
  readonly signal?: AbortSignal;
}

/** Largest authorizer body relayed to the client on a denial. */
const maxBodyBytes = 64 * 1024;
/** Never relayed from the authorizer's response: framing and hop-by-hop headers, and Host. */
const neverRelayed = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-connection"]);

/**
 * Asks `provider` about one request. Never rejects: failures become a denial with statusOnError
 * (or an allow when failOpen), as Envoy's ext_authz filter behaves.
 */
export async function checkExternal(
  provider: ExtAuthzHttpProvider,
  request: ExternalCheckRequest,
  options: CheckExternalOptions = {},
): Promise<ExternalCheckResult> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (!neverRelayed.has(lower) && matchesAny(lower, provider.includeRequestHeadersInCheck)) headers[lower] = value;
  }
  for (const [name, value] of Object.entries(provider.includeAdditionalHeadersInCheck)) headers[name.toLowerCase()] = value;
  headers["host"] = request.host;
  headers["content-length"] = "0";

  const outcome = await send(provider, request, headers, options);
  if (outcome.type === "failed") return failure(provider, outcome.reason);
  if (outcome.status >= 500) return failure(provider, `${provider.name} answered ${outcome.status}`);
  if (outcome.status === 200) {
    return {
      allowed: true,
      upstreamHeaders: pick(outcome.headers, provider.headersToUpstreamOnAllow),
      downstreamHeaders: pick(outcome.headers, provider.headersToDownstreamOnAllow),
    };
  }
  const relayed = provider.headersToDownstreamOnDeny === undefined ? allRelayable(outcome.headers) : pick(outcome.headers, provider.headersToDownstreamOnDeny);
  return {
    allowed: false,
    status: outcome.status,
    headers: relayed,
    body: outcome.body,
    flag: externalAuthzDeniedFlag,
    failed: false,
    reason: `denied by ${provider.name} with ${outcome.status}`,
  };
}

type SendOutcome = { type: "response"; status: number; headers: IncomingHttpHeaders; body: Buffer } | { type: "failed"; reason: string };

function send(provider: ExtAuthzHttpProvider, request: ExternalCheckRequest, headers: Record<string, string>, options: CheckExternalOptions): Promise<SendOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    const req = httpRequest({
      host: options.address?.host ?? provider.service,
      port: options.address?.port ?? provider.port,
      method: request.method,
      path: provider.pathPrefix + request.path,
      headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      finish({ type: "failed", reason: `${provider.name} did not answer within ${provider.timeoutMs} ms` });
      req.destroy();
    }, provider.timeoutMs);
    const onAbort = (): void => {
      finish({ type: "failed", reason: "the check was aborted" });
      req.destroy();
    };
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => finish({ type: "failed", reason: `${provider.name} unreachable: ${err.message}` }));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxBodyBytes) chunks.push(chunk);
      });
      res.on("error", (err) => finish({ type: "failed", reason: `${provider.name} response failed: ${err.message}` }));
      res.on("end", () => finish({ type: "response", status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end();
  });
}

function failure(provider: ExtAuthzHttpProvider, reason: string): ExternalCheckResult {
  if (provider.failOpen) return { allowed: true, upstreamHeaders: [], downstreamHeaders: [], failedOpen: reason };
  return { allowed: false, status: provider.statusOnError, headers: [], body: Buffer.alloc(0), flag: externalAuthzDeniedFlag, failed: true, reason };
}

/** MeshConfig header patterns: exact, "prefix*", "*suffix", case-insensitive (no presence match). */
export function matchesAny(lowerName: string, patterns: HeaderNamePatterns): boolean {
  for (const raw of patterns) {
    const p = raw.toLowerCase();
    if (p.length > 1 && p.endsWith("*") ? lowerName.startsWith(p.slice(0, -1)) : p.length > 1 && p.startsWith("*") ? lowerName.endsWith(p.slice(1)) : lowerName === p) return true;
  }
  return false;
}

function pick(headers: IncomingHttpHeaders, patterns: HeaderNamePatterns): HeaderList {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || neverRelayed.has(name) || !matchesAny(name, patterns)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}

function allRelayable(headers: IncomingHttpHeaders): HeaderList {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || neverRelayed.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}
