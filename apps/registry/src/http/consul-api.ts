// The Consul HTTP API as a function of a parsed request: routes /v1/* to its handler and maps
// errors to Consul's answers in one place (HttpError → its status, no leader → 500 "No cluster
// leader", a leader we cannot forward to → 307 to it, anything else → 500).
import { NotLeaderError } from "../registry-contract.ts";
import { handleAgent } from "./agent-routes.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, textResponse } from "./api-context.ts";
import { handleEvent } from "./event-routes.ts";
import { handleCatalog, handleHealth } from "./catalog-routes.ts";
import { HttpError } from "./http-error.ts";
import { handleKv, handleTxn } from "./kv-routes.ts";
import { handleOperator, handleStatus } from "./operator-routes.ts";
import { handleQuery } from "./query-routes.ts";
import { handleSession } from "./session-routes.ts";
import { handleSnapshot } from "./snapshot-routes.ts";

/** Splits `a/b%2Fc` into decoded segments; a bad escape is a 400. */
export function splitPath(path: string): string[] {
  try {
    return path.split("/").map((segment) => decodeURIComponent(segment));
  } catch {
    throw new HttpError(400, `Invalid path "/v1/${path}": bad percent-encoding`);
  }
}

/** The KV key of `kv/<key>` (everything after `kv/`, slashes kept); control characters are refused. */
export function kvKeyOf(path: string): string {
  const raw = path.slice("kv".length).replace(/^\//, "");
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `Invalid key "${raw}": bad percent-encoding`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new HttpError(400, `Invalid key ${JSON.stringify(key)}: keys may not contain control characters`);
  return key;
}

export async function handleConsulRequest(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  try {
    return await route(ctx, request);
  } catch (error) {
    return errorResponse(error, request);
  }
}

async function route(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const { path } = request;
  if (path === "kv" || path.startsWith("kv/")) return handleKv(ctx, request, kvKeyOf(path));
  const [group = "", ...rest] = splitPath(path);
  switch (group) {
    case "txn":
      return handleTxn(ctx, request);
    case "session":
      return handleSession(ctx, request, rest);
    case "catalog":
      return handleCatalog(ctx, request, rest);
    case "health":
      return handleHealth(ctx, request, rest);
    case "agent":
      return handleAgent(ctx, request, rest);
    case "status":
      return handleStatus(ctx, request, rest);
    case "operator":
      return handleOperator(ctx, request, rest);
    case "snapshot":
      return handleSnapshot(ctx, request, rest);
    case "query":
      return handleQuery(ctx, request, rest);
    case "event":
      return handleEvent(ctx, request, rest);
    default:
      return textResponse(404, `Unknown endpoint /v1/${path}: see apps/registry/README.md "HTTP API" for what is supported`);
  }
}

/** The one place errors become HTTP answers. */
export function errorResponse(error: unknown, request: ApiRequest): ApiResponse {
  if (error instanceof HttpError) return textResponse(error.status, error.message);
  if (error instanceof NotLeaderError) {
    if (error.leaderAddress === "") return textResponse(500, "No cluster leader");
    const search = request.query.toString();
    return textResponse(307, error.message, { location: `http://${error.leaderAddress}/v1/${request.path}${search === "" ? "" : `?${search}`}` });
  }
  if (error instanceof Error && error.name === "AbortError") return textResponse(499, "client closed the request");
  return textResponse(500, error instanceof Error ? error.message : String(error));
}
