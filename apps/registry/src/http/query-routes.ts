// /v1/query (Consul's agent/prepared_query_endpoint.go): POST creates a prepared query, GET lists
// them; /v1/query/:id GET / PUT / DELETE; /v1/query/:id_or_name/execute and /explain. Writes go
// through Raft (`query-set`, `query-delete`), so queries live in the replicated state; reads pass
// the read barrier; list and get block on the queries' index, execute and explain do not (as in
// Consul). Errors are Consul's: 404 "Query not found", 500 with the state's refusal.
import type { RegistryReads } from "../registry-contract.ts";
import { executePreparedQuery } from "../queries/execute-prepared-query.ts";
import { resolvePreparedQuery } from "../queries/resolve-prepared-query.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, prepareRead, textResponse } from "./api-context.ts";
import { encodePreparedQuery, encodeQueryExecution } from "./consul-encode.ts";
import { HttpError } from "./http-error.ts";
import { parseJsonBody } from "./json-fields.ts";
import { parsePreparedQuery } from "./parse-prepared-query.ts";

function methodNotAllowed(request: ApiRequest, allow: string): ApiResponse {
  return textResponse(405, `method ${request.method} not allowed`, { allow });
}

const emptyOk: ApiResponse = { status: 200, headers: {}, body: "" };

export async function handleQuery(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  if (rest.length === 0 || (rest.length === 1 && rest[0] === "")) {
    if (request.method === "POST") return createQuery(ctx, request);
    if (request.method === "GET") return listQueries(ctx, request);
    return methodNotAllowed(request, "GET, POST");
  }
  const last = rest[rest.length - 1];
  if (rest.length >= 2 && (last === "execute" || last === "explain")) {
    if (request.method !== "GET") return methodNotAllowed(request, "GET");
    const idOrName = rest.slice(0, -1).join("/");
    return last === "execute" ? executeQuery(ctx, request, idOrName) : explainQuery(ctx, request, idOrName);
  }
  const id = rest.join("/");
  switch (request.method) {
    case "GET":
      return getQuery(ctx, request, id);
    case "PUT":
      return updateQuery(ctx, request, id);
    case "DELETE":
      return deleteQuery(ctx, id);
    default:
      return methodNotAllowed(request, "GET, PUT, DELETE");
  }
}

async function createQuery(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const query = parsePreparedQuery(parseJsonBody(request.body, "the prepared query"), { id: ctx.newId(), create: true });
  await writeQuery(ctx, { op: "query-set", create: true, query });
  return jsonResponse({ ID: query.id });
}

async function updateQuery(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  // Consul: an empty body is an empty query (which its checks then refuse), the ID comes from the URL.
  const body = request.body.length === 0 ? {} : parseJsonBody(request.body, "the prepared query");
  await writeQuery(ctx, { op: "query-set", create: false, query: parsePreparedQuery(body, { id, create: false }) });
  return emptyOk;
}

async function deleteQuery(ctx: ApiContext, id: string): Promise<ApiResponse> {
  await writeQuery(ctx, { op: "query-delete", id });
  return emptyOk;
}

async function writeQuery(ctx: ApiContext, command: Parameters<ApiContext["server"]["write"]>[0]): Promise<void> {
  const result = await ctx.server.write(command);
  if (!result.ok) throw new HttpError(500, result.errors?.[0]?.what ?? "the registry refused the prepared query");
}

async function listQueries(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const { state, headers } = await prepareRead(ctx, request, (reads) => reads.queryIndex());
  return jsonResponse(state.queries().map(encodePreparedQuery), headers);
}

async function getQuery(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const { state, headers } = await prepareRead(ctx, request, (reads) => reads.queryIndex());
  const query = state.query(id);
  if (query === undefined) return textResponse(404, "Query not found", headers);
  return jsonResponse([encodePreparedQuery(query)], headers);
}

/** Consul's `?limit` (strconv.Atoi; 0 or less: no limit). */
function parseLimit(request: ApiRequest): number {
  const text = request.query.get("limit");
  if (text === null || text === "") return 0;
  if (!/^[+-]?\d+$/.test(text)) throw new HttpError(500, `Bad limit: strconv.Atoi: parsing "${text}": invalid syntax; use a whole number of nodes, e.g. ?limit=3`);
  return Number(text);
}

/** The index of an execute: the queries' or the catalog's, whichever moved last. */
function executionIndex(reads: RegistryReads): number {
  return Math.max(reads.queryIndex(), reads.catalogIndex());
}

async function resolve(ctx: ApiContext, request: ApiRequest, idOrName: string) {
  const { state, headers } = await prepareRead(ctx, request, executionIndex, { blocking: false });
  const resolved = resolvePreparedQuery(state.queries(), idOrName);
  if (!resolved.ok) throw new HttpError(resolved.reason === "not-found" ? 404 : 500, resolved.message);
  return { state, headers, query: resolved.query };
}

async function executeQuery(ctx: ApiContext, request: ApiRequest, idOrName: string): Promise<ApiResponse> {
  const limit = parseLimit(request);
  const { state, headers, query } = await resolve(ctx, request, idOrName);
  const execution = executePreparedQuery(state, query, { agentNode: ctx.agent.nodeName, near: request.query.get("near") ?? undefined, limit, random: ctx.random });
  return jsonResponse(encodeQueryExecution(execution, query.dns.ttl, ctx.datacenter), headers);
}

async function explainQuery(ctx: ApiContext, request: ApiRequest, idOrName: string): Promise<ApiResponse> {
  const { headers, query } = await resolve(ctx, request, idOrName);
  return jsonResponse({ Query: encodePreparedQuery(query) }, headers);
}
