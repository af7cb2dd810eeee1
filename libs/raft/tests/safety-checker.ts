// The safety properties of the Raft paper (Figure 3), checked while a simulation runs: election
// safety, leader append-only, log matching, leader completeness and state machine safety.
import { logIndex } from "../src/index.ts";
import type { NodeId, Ready, Term } from "../src/index.ts";
import type { ReadyContext, SimCluster, SimMember } from "./sim-cluster.ts";

const decoder = new TextDecoder();

/** Remembers what every node did so far and throws at the first step that breaks a property. */
export class SafetyChecker {
  /** Election safety (§5.2): the one leader of each term. */
  readonly #leaders = new Map<Term, NodeId>();
  /** State machine safety (§5.4.3): what was applied at each index, as "term/type/data". */
  readonly #applied = new Map<number, string>();
  #maxApplied = 0;

  /** How many distinct indexes were applied somewhere (a sign the run made progress). */
  get appliedCount(): number {
    return this.#applied.size;
  }

  /** Checks one Ready of `member` (pass it as the simulator's `onReady`). */
  observe(member: SimMember, ready: Ready, before: ReadyContext): void {
    const status = member.node.status();
    if (status.state === "leader") {
      const known = this.#leaders.get(status.term);
      if (known !== undefined && known !== status.id) throw new Error(`election safety: two leaders in term ${status.term}: ${known} and ${status.id}`);
      this.#leaders.set(status.term, status.id);
    }
    const first = ready.entries[0];
    if (before.wasLeader && status.state === "leader" && first !== undefined && first.index !== before.lastIndexBefore + 1) {
      throw new Error(`leader append-only: leader ${member.id} rewrote its log from ${first.index} (last was ${before.lastIndexBefore})`);
    }
    for (const entry of ready.committedEntries) {
      const value = `${entry.term}/${entry.type}/${decoder.decode(entry.data)}`;
      const seen = this.#applied.get(entry.index);
      if (seen !== undefined && seen !== value) throw new Error(`state machine safety: index ${entry.index} applied as ${seen} and as ${value} (node ${member.id})`);
      this.#applied.set(entry.index, value);
      if (entry.index > this.#maxApplied) this.#maxApplied = entry.index;
    }
    // Checked when the node has just become leader: every earlier leader had a lower term, so all
    // that was applied anywhere so far was committed in a lower term and must be in its log.
    if (ready.softState?.state === "leader") this.#checkLeaderCompleteness(member, status.term);
  }

  /**
   * Leader completeness (§5.4): a new leader's log holds every entry of an earlier term applied
   * anywhere (where not compacted). Entries of its own term may be applied before this check runs:
   * a leader streaming appends while its first Ready is persisted (takeEarlyMessages) can get its
   * own entries committed by the followers' acknowledgements alone.
   */
  #checkLeaderCompleteness(member: SimMember, term: Term): void {
    const storage = member.storage;
    let maxEarlier = this.#maxApplied;
    while (maxEarlier > storage.lastIndex()) {
      const value = this.#applied.get(maxEarlier);
      if (value !== undefined && Number(value.split("/")[0]) < term) break;
      maxEarlier--;
    }
    if (storage.lastIndex() < maxEarlier) {
      throw new Error(`leader completeness: leader ${member.id} ends at ${storage.lastIndex()} but ${maxEarlier} was applied`);
    }
    for (let k = Math.max(storage.firstIndex(), maxEarlier - 50); k <= maxEarlier; k++) {
      const value = this.#applied.get(k);
      if (value !== undefined && String(storage.term(logIndex(k))) !== value.split("/")[0]) {
        throw new Error(`leader completeness: leader ${member.id} has another entry at committed index ${k}`);
      }
    }
  }

  /** Log matching (§5.3): if two logs hold an entry with the same index and term, they agree up to it. */
  checkLogMatching(cluster: SimCluster): void {
    const members = [...cluster.members.values()];
    for (const a of members) {
      for (const b of members) {
        if (a.id >= b.id) continue;
        const lo = Math.max(a.storage.firstIndex(), b.storage.firstIndex());
        const hi = Math.min(a.storage.lastIndex(), b.storage.lastIndex());
        let matchedAbove = false;
        for (let k = hi; k >= lo; k--) {
          const same = a.storage.term(logIndex(k)) === b.storage.term(logIndex(k));
          if (matchedAbove && !same) throw new Error(`log matching: logs of ${a.id} and ${b.id} match above ${k} but differ there`);
          if (same) matchedAbove = true;
        }
      }
    }
  }
}
