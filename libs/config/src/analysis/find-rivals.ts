// Which resources compete for the same thing — Sidecars or PeerAuthentications selecting the same
// workload, or written with the same selector — when Istio applies only one of them.
import { addToGroup } from "./add-to-group.ts";

/**
 * For each owner that shares a group (e.g. a selected workload) with another, the other owners, in
 * input order, each with `describe` of the first group they share. Owners sharing nothing are absent.
 */
export function findRivals<T, G>(owners: readonly T[], groupsOf: (owner: T) => Iterable<G>, describe: (group: G) => string): Map<T, Map<T, string>> {
  const members = new Map<G, T[]>();
  for (const owner of owners) for (const group of groupsOf(owner)) addToGroup(members, group, owner);
  const rivals = new Map<T, Map<T, string>>();
  for (const [group, list] of members) {
    if (list.length < 2) continue;
    for (const a of list) {
      let others = rivals.get(a);
      if (!others) rivals.set(a, (others = new Map()));
      for (const b of list) if (b !== a && !others.has(b)) others.set(b, describe(group));
    }
  }
  return rivals;
}
