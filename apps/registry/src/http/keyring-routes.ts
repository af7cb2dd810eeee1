// /v1/operator/keyring (Consul's OperatorKeyringEndpoint, what `consul keyring` calls): GET lists the
// keys of every member of this server's gossip pool, POST installs, PUT makes primary, DELETE
// removes a key, each sent to the whole pool as serf's internal key queries. A member that fails or
// does not answer makes the request fail with 500 and one line per member, as Consul's
// keyringErrorsOrNil does; success is 200 with the list (GET) or an empty body.
import type { KeyOperation, KeyOperationResult } from "@meshwork/gossip";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, textResponse } from "./api-context.ts";
import { badRequest } from "./http-error.ts";
import { parseJsonBody } from "./json-fields.ts";

const operationOf: Readonly<Record<string, KeyOperation>> = { GET: "list", POST: "install", PUT: "use", DELETE: "remove" };
const verbOf: Readonly<Record<KeyOperation, string>> = { list: "list", install: "install", use: "use", remove: "remove" };

/** The key of a POST/PUT/DELETE body, `{"Key": "BASE64"}`, checked as a gossip key. */
function keyOf(request: ApiRequest, operation: KeyOperation): Uint8Array {
  const body = parseJsonBody(request.body, "the keyring request");
  const text = typeof body === "object" && body !== null && "Key" in body && typeof body.Key === "string" ? body.Key.trim() : "";
  const example = `${request.method} /v1/operator/keyring with {"Key": "BASE64"}`;
  if (text === "") throw badRequest(`Missing Key: ${verbOf[operation]} needs the gossip key, ${example}`);
  const bytes = Buffer.from(text, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || ![16, 24, 32].includes(bytes.length)) {
    throw badRequest(`Key ${JSON.stringify(text.slice(0, 8))}…: a gossip key is 16, 24 or 32 bytes in base64; generate one with \`openssl rand -base64 32\``);
  }
  return new Uint8Array(bytes);
}

/** Consul's failure text: the pool's summary, then one line per member with its message. */
function failureText(ctx: ApiContext, result: KeyOperationResult): string {
  const lines = [`${ctx.datacenter} (LAN) error: ${result.numErr}/${result.numNodes} nodes reported failure`];
  for (const [node, message] of Object.entries(result.messages).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${node}: ${message}`);
  return lines.join("\n");
}

export async function handleKeyring(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const operation = operationOf[request.method];
  if (operation === undefined) return textResponse(405, `method ${request.method} not allowed`, { allow: "GET, POST, PUT, DELETE" });
  const relayFactor = request.query.get("relay-factor");
  // Relaying answers through other members is not implemented; Consul's range check still applies.
  if (relayFactor !== null && !/^[0-5]$/.test(relayFactor)) throw badRequest("Relay factor must be in range: [0, 5]");
  if (request.query.has("local-only") && operation !== "list") throw badRequest("local-only can only be set for list requests: drop it, or GET /v1/operator/keyring?local-only=true");
  const send = ctx.gossip?.keyringOperation?.bind(ctx.gossip);
  if (send === undefined) throw badRequest("gossip is off on this server: start it with --gossip-port and --gossip-key to manage gossip keys");
  const key = operation === "list" ? undefined : keyOf(request, operation);
  const result = await send(operation, key);
  if (result.numErr > 0 || result.numResp < result.numNodes) return textResponse(500, failureText(ctx, result));
  if (operation !== "list") return { status: 200, headers: {}, body: "" };
  return jsonResponse([
    { WAN: false, Datacenter: ctx.datacenter, Segment: "", Keys: { ...result.keys }, PrimaryKeys: { ...result.primaryKeys }, NumNodes: result.numNodes, Messages: { ...result.messages } },
  ]);
}
