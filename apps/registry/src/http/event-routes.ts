// /v1/event/fire/:name and /v1/event/list (Consul's agent/event_endpoint.go). Events are this
// agent's, not the replicated state's: fire needs no leader, list answers this agent's last 256
// events (optionally ?name=) and blocks on ?index= as Consul does — its index is derived from the
// newest listed event's id (eventIndex), so it only tells "changed" from "not changed": the list
// waits while the index equals ?index (Consul's loop), not until it is greater.
import { checkUserEvent } from "../events/check-user-event.ts";
import { eventIndex } from "../events/event-index.ts";
import { type UserEvent, USER_EVENT_VERSION } from "../events/user-event.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, textResponse } from "./api-context.ts";
import { encodeUserEvent } from "./consul-encode.ts";
import { HttpError, badRequest } from "./http-error.ts";
import { parseWaitMs } from "./query-params.ts";

const MAX_UINT64 = (1n << 64n) - 1n;

export async function handleEvent(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  const [verb = "", ...name] = rest;
  switch (verb) {
    case "fire":
      if (request.method !== "PUT") return textResponse(405, `method ${request.method} not allowed`, { allow: "PUT" });
      return fireEvent(ctx, request, name.join("/"));
    case "list":
      if (request.method !== "GET") return textResponse(405, `method ${request.method} not allowed`, { allow: "GET" });
      return listEvents(ctx, request);
    default:
      return textResponse(404, `Unknown event endpoint /v1/event/${verb}: use PUT /v1/event/fire/<name> or GET /v1/event/list`);
  }
}

function fireEvent(ctx: ApiContext, request: ApiRequest, name: string): ApiResponse {
  // Consul answers exactly this (agent/event_endpoint.go).
  if (name === "") return textResponse(400, "Missing name");
  const event: UserEvent = {
    id: ctx.newId(),
    name,
    payload: request.body,
    nodeFilter: request.query.get("node") ?? "",
    serviceFilter: request.query.get("service") ?? "",
    tagFilter: request.query.get("tag") ?? "",
    version: USER_EVENT_VERSION,
    ltime: 0,
  };
  const refused = checkUserEvent(event);
  // Consul answers a refused event with 500 and the error's text.
  if (refused !== undefined) throw new HttpError(500, refused);
  ctx.events.fire(event);
  // As Consul: the event as fired, its LTime not known yet (0).
  return jsonResponse(encodeUserEvent(event));
}

async function listEvents(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const nameFilter = request.query.get("name") ?? "";
  const minIndex = parseEventIndex(request.query.get("index"));
  const waitMs = parseWaitMs(request.query);
  const started = Date.now();
  for (;;) {
    const events = ctx.events.list().filter((event) => nameFilter === "" || event.name === nameFilter);
    const last = events[events.length - 1];
    // Consul answers 1 for no events, "to prevent a hot query loop".
    const index = last === undefined ? 1n : eventIndex(last.id);
    const remainingMs = waitMs - (Date.now() - started);
    if (minIndex > 0n && index === minIndex && remainingMs > 0 && !request.signal.aborted) {
      await ctx.events.waitForEvent(remainingMs, request.signal);
      continue;
    }
    return jsonResponse(events.map(encodeUserEvent), { "x-consul-index": index.toString() });
  }
}

/** `?index=` of an event list: an unsigned 64-bit integer (event indexes use all 64 bits); 0 when absent. */
function parseEventIndex(text: string | null): bigint {
  if (text === null || text === "") return 0n;
  if (!/^\d{1,20}$/.test(text) || BigInt(text) > MAX_UINT64) throw badRequest(`Invalid ?index "${text}": use the X-Consul-Index of the previous /v1/event/list answer (an unsigned 64-bit integer)`);
  return BigInt(text);
}
