// The checks of a user event before it is fired (Consul's validateUserEventParams, and serf's
// size limit on user events): the refusal in Consul's words, then what to do.
import { compileGoRegexp } from "../queries/compile-go-regexp.ts";
import { type UserEvent, encodeGossipUserEvent } from "./user-event.ts";

/** serf's UserEventSizeLimit: name, payload and filters of one event, before encoding. */
export const USER_EVENT_SIZE_LIMIT = 512;
/** The encoded event must fit, with room to spare, in one gossip packet (1,400 bytes, sealed or not). */
export const MAX_ENCODED_USER_EVENT_BYTES = 1024;

/** What is wrong with `event`, or undefined when it may be fired. */
export function checkUserEvent(event: UserEvent): string | undefined {
  if (event.name === "") return "User event missing name: PUT /v1/event/fire/<name>";
  if (event.tagFilter !== "" && event.serviceFilter === "") return "Cannot provide tag filter without service filter: add ?service=<regexp>";
  for (const [what, source] of [
    ["node", event.nodeFilter],
    ["service", event.serviceFilter],
    ["tag", event.tagFilter],
  ] as const) {
    if (source === "") continue;
    const compiled = compileGoRegexp(source);
    if (!compiled.ok) return `Invalid ${what} filter: ${compiled.message}`;
  }
  const utf8 = (text: string): number => Buffer.byteLength(text, "utf8");
  const size = utf8(event.name) + event.payload.length + utf8(event.nodeFilter) + utf8(event.serviceFilter) + utf8(event.tagFilter);
  if (size > USER_EVENT_SIZE_LIMIT) {
    return `user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes before encoding (name, payload and filters are ${size} bytes): keep the payload small, e.g. a KV key to read`;
  }
  const encoded = encodeGossipUserEvent(event);
  const encodedSize = utf8(encoded.name) + encoded.payload.length;
  if (encodedSize > MAX_ENCODED_USER_EVENT_BYTES) {
    return `user event exceeds the limit of ${MAX_ENCODED_USER_EVENT_BYTES} bytes after encoding (${encodedSize} bytes): shorten the filters or the payload`;
  }
  return undefined;
}
