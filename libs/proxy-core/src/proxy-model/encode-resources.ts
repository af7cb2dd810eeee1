// The JSON wire form of proxy-model resources (DiscoveryResponse.resources[].body) and back.
// JSON.stringify of plain data is deterministic for our bodies (keys in construction order), so
// equal resources give equal bytes and equal hashes.
import type { BodyByType, NamedResource, ResourceType } from "./proxy-resources.ts";

/** The body as JSON text (the transport sends it as UTF-8 bytes). */
export function encodeResourceBody<T extends ResourceType>(resource: NamedResource<T>): string {
  return JSON.stringify(resource.body);
}

/**
 * Parses a body received for `type`; a value that is not a JSON object is an error naming the
 * resource (the proxy NACKs with it). The shape is trusted beyond that: the control plane wrote it.
 */
export function decodeResourceBody<T extends ResourceType>(
  type: T,
  name: string,
  body: string,
): { ok: true; resource: NamedResource<T> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { ok: false, error: `${type} "${name}": body is not JSON (${(error as Error).message})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, error: `${type} "${name}": body is not a JSON object` };
  return { ok: true, resource: { name, body: value as BodyByType[T] } };
}
