// /v1/kv/<key> (GET, PUT, DELETE) and /v1/txn, as Consul's agent/kvs_endpoint.go and txn_endpoint.go answer them.
import type { CommandResult, KvEntry, RegistryCommand } from "../registry-contract.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, leaderHeaders, prepareRead, textResponse } from "./api-context.ts";
import { parseTxnOps } from "./consul-decode.ts";
import { encodeKvEntry } from "./consul-encode.ts";
import { HttpError, badRequest } from "./http-error.ts";
import { parseJsonBody } from "./json-fields.ts";
import { hasFlag, parseUintParam } from "./query-params.ts";

/** Consul's default KV value limit (kv_max_value_size: 512 KiB). */
export const maxKvValueBytes = 512 * 1024;

export async function handleKv(ctx: ApiContext, request: ApiRequest, key: string): Promise<ApiResponse> {
  switch (request.method) {
    case "GET":
      return getKv(ctx, request, key);
    case "PUT":
    case "POST":
      return putKv(ctx, request, key);
    case "DELETE":
      return deleteKv(ctx, request, key);
    default:
      return textResponse(405, `method ${request.method} not allowed`, { allow: "GET, PUT, DELETE" });
  }
}

async function getKv(ctx: ApiContext, request: ApiRequest, key: string): Promise<ApiResponse> {
  const { query } = request;
  const separatorParam = query.get("separator");
  const { state, headers } = await prepareRead(ctx, request, (reads) => reads.kvIndex(key));
  if (hasFlag(query, "keys")) {
    const keys = state.kvKeys(key, separatorParam === null || separatorParam === "" ? undefined : separatorParam);
    return keys.length === 0 ? textResponse(404, "", headers) : jsonResponse([...keys], headers);
  }
  if (hasFlag(query, "recurse")) {
    const entries = state.kvList(key);
    return entries.length === 0 ? textResponse(404, "", headers) : jsonResponse(entries.map(encodeKvEntry), headers);
  }
  const entry = state.kvGet(key);
  if (entry === undefined) return textResponse(404, "", headers);
  if (hasFlag(query, "raw")) return { status: 200, headers: { ...headers, "content-type": "text/plain", "x-content-type-options": "nosniff" }, body: entry.value };
  return jsonResponse([encodeKvEntry(entry)], headers);
}

/** The kv-set command of a `PUT /v1/kv/<key>` (pure: tested beside). */
export function kvSetCommand(key: string, query: URLSearchParams, body: Uint8Array): Extract<RegistryCommand, { op: "kv-set" }> {
  if (key === "") throw badRequest("Missing key name: PUT /v1/kv/<key>");
  if (body.length > maxKvValueBytes) {
    throw new HttpError(413, `Request body(${body.length} bytes) too large, max size: ${maxKvValueBytes} bytes. Store large values elsewhere and keep a reference in the KV.`);
  }
  const flags = parseUintParam(query, "flags");
  const cas = parseUintParam(query, "cas");
  const acquire = query.get("acquire");
  const release = query.get("release");
  if (acquire !== null && release !== null) throw badRequest("Conflicting flags: ?acquire and ?release, pass one of them");
  if (acquire === "" || release === "") throw badRequest(`?${acquire === "" ? "acquire" : "release"} needs a session id`);
  return {
    op: "kv-set",
    key,
    value: Buffer.from(body).toString("base64"),
    ...(flags === undefined ? {} : { flags }),
    ...(cas === undefined ? {} : { cas }),
    ...(acquire === null ? {} : { acquire }),
    ...(release === null ? {} : { release }),
  };
}

async function putKv(ctx: ApiContext, request: ApiRequest, key: string): Promise<ApiResponse> {
  const result = await ctx.server.write(kvSetCommand(key, request.query, request.body));
  refuseInvalid(result);
  return jsonResponse(result.ok);
}

async function deleteKv(ctx: ApiContext, request: ApiRequest, key: string): Promise<ApiResponse> {
  const recurse = hasFlag(request.query, "recurse");
  if (key === "" && !recurse) throw badRequest("Missing key name: DELETE /v1/kv/<key>, or ?recurse to delete a whole prefix");
  const cas = parseUintParam(request.query, "cas");
  if (cas !== undefined && recurse) throw badRequest("Conflicting flags: ?cas and ?recurse cannot be combined");
  const result = await ctx.server.write({ op: "kv-delete", key, ...(recurse ? { recurse } : {}), ...(cas === undefined ? {} : { cas }) });
  refuseInvalid(result);
  return jsonResponse(result.ok);
}

/** A refused CAS/lock is `false`; an invalid request (unknown session...) is a 400 with the state's reason. */
function refuseInvalid(result: CommandResult): void {
  const error = result.errors?.[0];
  if (!result.ok && error !== undefined) throw badRequest(error.what);
}

/** `PUT /v1/txn`: 200 with Results, or 409 with Errors naming the failing op. */
export async function handleTxn(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  if (request.method !== "PUT" && request.method !== "POST") return textResponse(405, `method ${request.method} not allowed`, { allow: "PUT" });
  const ops = parseTxnOps(parseJsonBody(request.body, "the txn body"));
  for (const [i, op] of ops.entries()) {
    if ("value" in op && Buffer.from(op.value, "base64").length > maxKvValueBytes) {
      throw new HttpError(413, `op[${i}].KV.Value is larger than ${maxKvValueBytes} bytes`);
    }
  }
  const result = await ctx.server.write({ op: "txn", ops });
  const headers = { "x-consul-index": String(result.index), ...leaderHeaders(ctx.server) };
  if (!result.ok) {
    return jsonResponse({ Results: null, Errors: (result.errors ?? []).map((error) => ({ OpIndex: error.opIndex, What: error.what })) }, headers, 409);
  }
  return jsonResponse({ Results: (result.results ?? []).map((entry: KvEntry) => ({ KV: encodeKvEntry(entry) })), Errors: null }, headers);
}
