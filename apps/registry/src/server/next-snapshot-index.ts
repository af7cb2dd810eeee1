// When a server takes its next snapshot. Every server of a cluster applies the same entries, so
// with one fixed interval they would all encode their state at the same index — and a write,
// which needs a quorum of them, waits behind those snapshots (on shared cores, behind all of
// them at once). Each voter keeps its own phase in the interval instead (hashicorp/raft, under
// Consul, randomises its snapshot timer for the same reason): as often as before, a third of
// an interval apart with three voters.

/**
 * The applied index at or past which a server snapshots next, after its last snapshot at `last`:
 * the first index more than half an interval past `last` whose offset in the interval is the
 * server's phase, `rank / voters` of `every` (`rank`: its place among the voters by id; -1, or a
 * single voter: phase 0). In steady state that is `every` entries apart; the first after a start
 * or a new phase between `every / 2` and `1.5 × every`.
 */
export function nextSnapshotIndex(last: number, every: number, rank: number, voters: number): number {
  const interval = Math.max(1, Math.floor(every));
  const phase = rank > 0 ? Math.floor((rank * interval) / voters) : 0;
  const earliest = last + Math.floor(interval / 2) + 1;
  return earliest + ((((phase - earliest) % interval) + interval) % interval);
}

/** A server's place among the voters by id (-1 if it is not one): its snapshot phase. */
export function snapshotRank(self: string, voters: readonly string[]): number {
  return [...voters].sort().indexOf(self);
}
