// Endpoints pushes are EDS-like (docs/design/config-push.md): only the clusters whose endpoints
// changed since what the proxy holds are sent.
import type { EncodedType } from "./encode-proxy-resources.ts";

/**
 * The Endpoints of `wire` whose digest differs from `held`, computed once per (held, wire) pair:
 * the proxies of one scope hold the same digests object (the previous push's `wire.digests`), so
 * an endpoint change is diffed once per scope, not once per proxy.
 */
const endpointDiffs = new WeakMap<ReadonlyMap<string, string>, WeakMap<EncodedType, EncodedType["resources"]>>();
export function changedEndpoints(held: ReadonlyMap<string, string>, wire: EncodedType): EncodedType["resources"] {
  let byWire = endpointDiffs.get(held);
  if (byWire === undefined) {
    byWire = new WeakMap();
    endpointDiffs.set(held, byWire);
  }
  let changed = byWire.get(wire);
  if (changed === undefined) {
    changed = held === wire.digests ? [] : wire.resources.filter((r) => held.get(r.name) !== wire.digests.get(r.name));
    byWire.set(wire, changed);
  }
  return changed;
}

