// Whether an agent takes a user event it received (Consul's shouldProcessUserEvent): its node
// name must match the node filter, and with a service filter one of its own services must match
// it (and, with a tag filter, one of that service's tags must match that). Unanchored Go regexps.
import { compileGoRegexp } from "../queries/compile-go-regexp.ts";
import type { UserEvent } from "./user-event.ts";

/** One of this agent's services, as the filters see it. */
export interface LocalService {
  readonly id: string;
  readonly service: string;
  readonly tags: readonly string[];
}

/**
 * True when this agent (node `node`, running `services`) should keep `event`. A filter that does
 * not compile refuses the event (Consul logs and drops it; the firing agent checked it already).
 */
export function acceptsUserEvent(event: Pick<UserEvent, "nodeFilter" | "serviceFilter" | "tagFilter">, node: string, services: readonly LocalService[]): boolean {
  const regexp = (source: string): RegExp | undefined => {
    const compiled = compileGoRegexp(source);
    return compiled.ok ? compiled.regexp : undefined;
  };
  if (event.nodeFilter !== "") {
    const nodeRe = regexp(event.nodeFilter);
    if (nodeRe === undefined || !nodeRe.test(node)) return false;
  }
  if (event.serviceFilter === "") return true;
  const serviceRe = regexp(event.serviceFilter);
  const tagRe = event.tagFilter === "" ? undefined : regexp(event.tagFilter);
  if (serviceRe === undefined || (event.tagFilter !== "" && tagRe === undefined)) return false;
  // Consul matches the keys of its local services, which are service ids (by default the name); both count here.
  return services.some((service) => (serviceRe.test(service.service) || serviceRe.test(service.id)) && (tagRe === undefined || service.tags.some((tag) => tagRe.test(tag))));
}
