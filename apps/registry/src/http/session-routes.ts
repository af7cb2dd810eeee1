// /v1/session/create|destroy/:id|info/:id|node/:node|list|renew/:id (Consul's agent/session_endpoint.go).
import type { SessionInfo } from "../registry-contract.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, prepareRead, textResponse } from "./api-context.ts";
import { parseSessionCreate } from "./consul-decode.ts";
import { encodeSession } from "./consul-encode.ts";
import { HttpError } from "./http-error.ts";
import { parseJsonBody } from "./json-fields.ts";

function requireMethod(request: ApiRequest, methods: readonly string[]): ApiResponse | undefined {
  return methods.includes(request.method) ? undefined : textResponse(405, `method ${request.method} not allowed`, { allow: methods.join(", ") });
}

export async function handleSession(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  const [verb = "", arg = ""] = rest;
  switch (verb) {
    case "create": {
      const refused = requireMethod(request, ["PUT"]);
      if (refused !== undefined) return refused;
      const body = request.body.length === 0 ? {} : parseJsonBody(request.body, "the session body");
      const command = parseSessionCreate(body, { id: ctx.newId(), defaultNode: ctx.agent.nodeName });
      const result = await ctx.server.write(command);
      if (!result.ok) {
        const what = result.errors?.[0]?.what ?? `node "${command.node}" or one of its checks is not registered`;
        throw new HttpError(500, `Failed to create session: ${what}`);
      }
      return jsonResponse({ ID: command.id });
    }
    case "destroy": {
      const refused = requireMethod(request, ["PUT"]);
      if (refused !== undefined) return refused;
      if (arg === "") throw new HttpError(400, "Missing session: PUT /v1/session/destroy/<id>");
      const result = await ctx.server.write({ op: "session-destroy", id: arg });
      return jsonResponse(result.ok);
    }
    case "renew": {
      const refused = requireMethod(request, ["PUT"]);
      if (refused !== undefined) return refused;
      if (arg === "") throw new HttpError(400, "Missing session: PUT /v1/session/renew/<id>");
      const renewed = ctx.server.renewSession === undefined ? await readSession(ctx, arg) : await ctx.server.renewSession(arg);
      if (renewed === undefined) return textResponse(404, `Session id '${arg}' not found`);
      return jsonResponse([encodeSession(renewed)]);
    }
    case "info":
    case "node":
    case "list": {
      const refused = requireMethod(request, ["GET"]);
      if (refused !== undefined) return refused;
      if (verb !== "list" && arg === "") throw new HttpError(400, `Missing ${verb === "info" ? "session id" : "node name"}: GET /v1/session/${verb}/<${verb === "info" ? "id" : "node"}>`);
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.appliedIndex);
      const sessions = verb === "info" ? [state.session(arg)].filter((s): s is SessionInfo => s !== undefined) : state.sessions().filter((s) => verb === "list" || s.node === arg);
      return jsonResponse(sessions.map(encodeSession), headers);
    }
    default:
      return textResponse(404, `Unknown session endpoint /v1/session/${verb}`);
  }
}

async function readSession(ctx: ApiContext, id: string): Promise<SessionInfo | undefined> {
  await ctx.server.readBarrier("default");
  return ctx.server.state.session(id);
}
