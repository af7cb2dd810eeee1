import { describe, expect, it } from "vitest";
import type { MemberRecord, Message } from "./message.ts";
import { mergeRemoteState, pushPullMessage, viewDigest } from "./push-pull.ts";

const record = (name: string, state: MemberRecord["state"], incarnation = 1): MemberRecord => ({ name, address: `${name}:1`, incarnation, state, tags: {}, ltime: 1 });

describe("viewDigest", () => {
  it("does not depend on order and changes with incarnation or state", () => {
    const a = [record("a", "alive"), record("b", "suspect")];
    expect(viewDigest(a)).toBe(viewDigest([...a].reverse()));
    expect(viewDigest([record("a", "alive", 2), record("b", "suspect")])).not.toBe(viewDigest(a));
    expect(viewDigest([record("a", "dead"), record("b", "suspect")])).not.toBe(viewDigest(a));
    expect(Number.isSafeInteger(viewDigest(a))).toBe(true);
  });
});

describe("pushPullMessage", () => {
  it("drops the members of a digest-only message", () => {
    expect(pushPullMessage({ digestOnly: true }, [record("a", "alive")], 42, 1, 2)).toMatchObject({ digestOnly: true, members: [], digest: 42, eventLtime: 1, queryLtime: 2 });
    expect(pushPullMessage({ isJoin: true }, [record("a", "alive")], 42, 1, 2).members).toHaveLength(1);
  });
});

describe("mergeRemoteState", () => {
  it("takes alive as alive, left as a leave, and a remote dead or suspect only as its own suspicion", () => {
    const calls: string[] = [];
    const message = pushPullMessage({}, [record("a", "alive"), record("b", "left"), record("c", "dead"), record("d", "suspect")], 0, 0, 0);
    mergeRemoteState(message as Extract<Message, { type: "push-pull" }>, "me", {
      known: (name) => name === "c",
      alive: (r) => void calls.push(`alive ${r.name}`),
      suspect: (m) => void calls.push(`suspect ${m.node} by ${m.from}`),
      dead: (m) => void calls.push(`dead ${m.node} from ${m.from}`),
    });
    expect(calls).toEqual(["alive a", "dead b from b", "suspect c by me", "alive d", "suspect d by me"]);
  });
});
