// /v1/event/fire/<name> and /v1/event/list on a client agent that is a gossip member (Consul's
// agent/event_endpoint.go): the agent fires the event into the pool through its own member, and
// lists the events this agent has seen. The servers answer the same way (http/event-routes.ts);
// this is that logic over the agent's UserEvents, which has no Raft server behind it.
import { randomUUID } from "node:crypto";
import { checkUserEvent } from "../events/check-user-event.ts";
import { eventIndex } from "../events/event-index.ts";
import { type UserEvent, USER_EVENT_VERSION } from "../events/user-event.ts";
import type { UserEvents } from "../events/user-events.ts";
import { type ApiResponse, jsonResponse, textResponse } from "../http/api-context.ts";
import { encodeUserEvent } from "../http/consul-encode.ts";
import { badRequest } from "../http/http-error.ts";
import { parseWaitMs } from "../http/query-params.ts";

const MAX_UINT64 = (1n << 64n) - 1n;

/** `PUT /v1/event/fire/<name>?node=&service=&tag=`: the event as fired (LTime 0: not known yet, as in Consul). */
export function fireAgentEvent(events: UserEvents, name: string, query: URLSearchParams, payload: Uint8Array): ApiResponse {
  // Consul answers exactly this (agent/event_endpoint.go).
  if (name === "") return textResponse(400, "Missing name");
  const event: UserEvent = {
    id: randomUUID(),
    name,
    payload,
    nodeFilter: query.get("node") ?? "",
    serviceFilter: query.get("service") ?? "",
    tagFilter: query.get("tag") ?? "",
    version: USER_EVENT_VERSION,
    ltime: 0,
  };
  const refused = checkUserEvent(event);
  // Consul answers a refused event with 500 and the error's text.
  if (refused !== undefined) return textResponse(500, refused);
  events.fire(event);
  return jsonResponse(encodeUserEvent(event));
}

/**
 * `GET /v1/event/list?name=&index=&wait=`: this agent's last 256 events, oldest first. With
 * `?index` it waits while the list's index (derived from the newest event's ID) still equals it.
 */
export async function listAgentEvents(events: UserEvents, query: URLSearchParams, signal: AbortSignal): Promise<ApiResponse> {
  const nameFilter = query.get("name") ?? "";
  const minIndex = parseEventIndex(query.get("index"));
  const waitMs = parseWaitMs(query);
  const started = Date.now();
  for (;;) {
    const listed = events.list().filter((event) => nameFilter === "" || event.name === nameFilter);
    const last = listed[listed.length - 1];
    // Consul answers 1 for no events, "to prevent a hot query loop".
    const index = last === undefined ? 1n : eventIndex(last.id);
    const remainingMs = waitMs - (Date.now() - started);
    if (minIndex > 0n && index === minIndex && remainingMs > 0 && !signal.aborted) {
      await events.waitForEvent(remainingMs, signal);
      continue;
    }
    return jsonResponse(listed.map(encodeUserEvent), { "x-consul-index": index.toString() });
  }
}

function parseEventIndex(text: string | null): bigint {
  if (text === null || text === "") return 0n;
  if (!/^\d{1,20}$/.test(text) || BigInt(text) > MAX_UINT64) throw badRequest(`Invalid ?index "${text}": use the X-Consul-Index of the previous /v1/event/list answer (an unsigned 64-bit integer)`);
  return BigInt(text);
}
