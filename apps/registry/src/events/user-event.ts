// A Consul user event (agent/user_event.go's UserEvent) and its form on the gossip pool. Consul
// sends events through serf as the user event "consul:event:<name>" whose payload is the msgpack
// of the UserEvent; here the payload is its JSON (ID, Payload in base64, filters, Version): the
// members of our pool are our servers and agents only, none of them Consul. The Lamport time is
// the gossip layer's, not part of the payload (as serf's LTime is not part of Consul's).
import { isUuid } from "../queries/resolve-prepared-query.ts";

/** An event as fired and as kept in an agent's list. */
export interface UserEvent {
  /** A UUID made where the event was fired; `/v1/event/list`'s X-Consul-Index derives from it. */
  readonly id: string;
  readonly name: string;
  /** Opaque to the registry; empty when none (Consul's JSON then says `"Payload": null`). */
  readonly payload: Uint8Array;
  /** Regular expressions (Go syntax) an agent's node name / a local service / one of its tags must match; "" = any. */
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
  /** Consul's userEventMaxVersion: 1. */
  readonly version: number;
  /** Lamport time of the gossip pool when the event was seen; 0 in the answer to the fire. */
  readonly ltime: number;
}

/** Consul's serf event name prefix for user events. */
export const GOSSIP_EVENT_PREFIX = "consul:event:";

export const USER_EVENT_VERSION = 1;

/** The gossip user event (`name`, `payload`) carrying `event`. */
export function encodeGossipUserEvent(event: UserEvent): { readonly name: string; readonly payload: Uint8Array } {
  const json = {
    ID: event.id,
    Payload: Buffer.from(event.payload).toString("base64"),
    NodeFilter: event.nodeFilter,
    ServiceFilter: event.serviceFilter,
    TagFilter: event.tagFilter,
    Version: event.version,
  };
  return { name: `${GOSSIP_EVENT_PREFIX}${event.name}`, payload: new TextEncoder().encode(JSON.stringify(json)) };
}

/**
 * The user event of a gossip event seen at Lamport time `ltime`; undefined for a gossip event
 * that is not one (another name prefix, or a payload this build did not write).
 */
export function decodeGossipUserEvent(gossipName: string, payload: Uint8Array, ltime: number): UserEvent | undefined {
  if (!gossipName.startsWith(GOSSIP_EVENT_PREFIX)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null) return undefined;
  const { ID, Payload, NodeFilter, ServiceFilter, TagFilter, Version } = json as Record<string, unknown>;
  const strings = [ID, Payload, NodeFilter, ServiceFilter, TagFilter];
  // The id must be a UUID: /v1/event/list derives its index from it.
  if (!strings.every((field) => typeof field === "string") || typeof Version !== "number" || !isUuid(ID as string)) return undefined;
  return {
    id: ID as string,
    name: gossipName.slice(GOSSIP_EVENT_PREFIX.length),
    payload: new Uint8Array(Buffer.from(Payload as string, "base64")),
    nodeFilter: NodeFilter as string,
    serviceFilter: ServiceFilter as string,
    tagFilter: TagFilter as string,
    version: Version,
    ltime,
  };
}
