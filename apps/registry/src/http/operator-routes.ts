// /v1/status/leader|peers and /v1/operator/raft/configuration|peer (/v1/operator/keyring: keyring-routes.ts;
// /v1/operator/autopilot/*: autopilot-routes.ts).
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, textResponse } from "./api-context.ts";
import { badRequest } from "./http-error.ts";
import { handleAutopilot } from "./autopilot-routes.ts";
import { handleKeyring } from "./keyring-routes.ts";

export async function handleStatus(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  if (request.method !== "GET") return textResponse(405, `method ${request.method} not allowed`, { allow: "GET" });
  switch (rest[0]) {
    case "leader":
      return jsonResponse(ctx.server.leaderAddress);
    case "peers":
      return jsonResponse([...ctx.server.peers]);
    default:
      return textResponse(404, `Unknown status endpoint /v1/status/${rest.join("/")}`);
  }
}

export async function handleOperator(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  const [group = "", verb = ""] = rest;
  if (group === "keyring" && verb === "") return handleKeyring(ctx, request);
  if (group === "autopilot") return handleAutopilot(ctx, request, verb);
  if (group !== "raft") return textResponse(404, `Unknown operator endpoint /v1/operator/${rest.join("/")}`);
  if (verb === "configuration") {
    if (request.method !== "GET") return textResponse(405, `method ${request.method} not allowed`, { allow: "GET" });
    const index = ctx.server.state.appliedIndex;
    const members = ctx.server.raftMembers?.();
    if (members !== undefined) {
      // As Consul: ID = the server's node id, Address = its Raft address.
      const Servers = members.map((m) => ({ ID: m.id, Node: m.id, Address: m.raftAddress, Leader: m.leader, Voter: m.voter, ProtocolVersion: "3", LastIndex: index }));
      return jsonResponse({ Servers, Index: index });
    }
    return jsonResponse({
      Servers: ctx.server.peers.map((address) => ({
        ID: address,
        Node: address,
        Address: address,
        Leader: address === ctx.server.leaderAddress,
        Voter: true,
        ProtocolVersion: "3",
        LastIndex: index,
      })),
      Index: index,
    });
  }
  if (verb === "peer") {
    const id = request.query.get("id") ?? "";
    if (request.method === "DELETE") {
      if (id === "") throw badRequest("Must specify ?id= (removal by ?address= is not supported): DELETE /v1/operator/raft/peer?id=<node id>");
      await ctx.server.removeServer(id);
      return { status: 200, headers: {}, body: "" };
    }
    if (request.method === "PUT" || request.method === "POST") {
      const address = request.query.get("address") ?? "";
      if (id === "" || address === "") throw badRequest("Adding a server needs ?id=<node id>&address=<raft host:port>");
      await ctx.server.addServer(id, address);
      return { status: 200, headers: {}, body: "" };
    }
    return textResponse(405, `method ${request.method} not allowed`, { allow: "DELETE, PUT" });
  }
  return textResponse(404, `Unknown operator endpoint /v1/operator/${rest.join("/")}`);
}
