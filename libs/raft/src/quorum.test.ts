import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LogIndex, NodeId } from "./ids.ts";
import { committedIndex, quorumSize, voteResult } from "./quorum.ts";

const ids = (n: number): NodeId[] => Array.from({ length: n }, (_, i) => String(i + 1) as NodeId);

describe("majority quorums", () => {
  it("quorumSize() is a strict majority", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it("committedIndex() is the largest index a majority has replicated (reference: try every candidate)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 7 }), (matches) => {
        const voters = ids(matches.length);
        const got = committedIndex(voters, (id) => matches[Number(id) - 1] as LogIndex);
        const reference = Math.max(0, ...matches.filter((c) => matches.filter((m) => m >= c).length >= quorumSize(matches.length)));
        expect(got).toBe(reference);
      }),
    );
  });

  it("committedIndex() counts a voter without progress as 0 and an empty set as unbounded", () => {
    expect(committedIndex(ids(3), (id) => (id === "1" ? (9 as LogIndex) : undefined))).toBe(0);
    expect(committedIndex([], () => undefined)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("voteResult() is won, lost or pending as a majority decides (reference: count)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(true, false, undefined), { minLength: 1, maxLength: 7 }), (answers) => {
        const voters = ids(answers.length);
        const votes = new Map<NodeId, boolean>();
        answers.forEach((a, i) => {
          if (a !== undefined) votes.set(voters[i] as NodeId, a);
        });
        const yes = answers.filter((a) => a === true).length;
        const no = answers.filter((a) => a === false).length;
        const q = quorumSize(answers.length);
        const expected = yes >= q ? "won" : answers.length - no < q ? "lost" : "pending";
        expect(voteResult(voters, votes)).toBe(expected);
      }),
    );
  });

  it("voteResult() ignores votes from non-voters", () => {
    const votes = new Map<NodeId, boolean>([["9" as NodeId, true], ["1" as NodeId, true]]);
    expect(voteResult(ids(3), votes)).toBe("pending");
  });
});
