// A property test of DurableStorage against libs/raft's MemoryStorage as the model: random
// appends (overwriting suffixes), hard states, snapshots from a leader and local compactions,
// with reopens from disk in between, must serve exactly what the model serves.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { MemoryStorage, logIndex, nodeId, term } from "@meshwork/raft";
import type { Entry, Storage } from "@meshwork/raft";
import { describe, expect, it } from "vitest";
import { DurableStorage } from "./durable-storage.ts";

type Op =
  | { readonly type: "append"; readonly back: number; readonly count: number; readonly size: number }
  | { readonly type: "hard-state"; readonly commitBack: number }
  | { readonly type: "leader-snapshot"; readonly ahead: number }
  | { readonly type: "compact"; readonly back: number }
  | { readonly type: "reopen" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant("append" as const), back: fc.nat(4), count: fc.integer({ min: 1, max: 6 }), size: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("hard-state" as const), commitBack: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("leader-snapshot" as const), ahead: fc.integer({ min: -4, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("compact" as const), back: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.constant({ type: "reopen" as const }) },
);

const conf = { voters: [nodeId("1")], learners: [] };

function view(storage: Storage): unknown {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  const snapshot = storage.snapshot();
  return {
    first,
    last,
    prevTerm: storage.term(logIndex(first - 1)),
    entries: last >= first ? storage.entries(first, logIndex(last + 1), Infinity) : [],
    state: storage.initialState(),
    snapshot: snapshot === "temporarily-unavailable" ? snapshot : snapshot.metadata,
  };
}

describe("DurableStorage against MemoryStorage", () => {
  it("serves what the model serves after any sequence of writes and reopens", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-model-"));
        try {
          const model = new MemoryStorage();
          let durable = DurableStorage.open(dir, { segmentBytes: 256 });
          let t = 1;
          for (const op of ops) {
            switch (op.type) {
              case "append": {
                t++;
                const from = Math.max(model.firstIndex(), model.lastIndex() + 1 - op.back);
                const batch: Entry[] = [];
                for (let i = 0; i < op.count; i++) batch.push({ index: logIndex(from + i), term: term(t), type: "normal", data: new Uint8Array(op.size).fill(i) });
                model.append(batch);
                durable.save({ entries: batch, mustSync: true });
                break;
              }
              case "hard-state": {
                const hardState = { term: term(t), vote: nodeId("1"), commit: logIndex(Math.max(0, model.lastIndex() - op.commitBack)) };
                model.setHardState(hardState);
                durable.save({ entries: [], hardState, mustSync: true });
                break;
              }
              case "leader-snapshot": {
                t++;
                const snapshot = { metadata: { index: logIndex(Math.max(model.snapshot().metadata.index + 1, model.lastIndex() + op.ahead + 1)), term: term(t), confState: conf }, data: new Uint8Array([t]) };
                model.applySnapshot(snapshot);
                durable.save({ snapshot, entries: [], mustSync: true });
                break;
              }
              case "compact": {
                const at = model.lastIndex() - op.back;
                if (at <= model.snapshot().metadata.index || at < model.firstIndex()) break;
                const index = logIndex(at);
                model.createSnapshot(index, conf, new Uint8Array([1]));
                model.compact(index);
                expect(durable.createSnapshotAndCompact(index, conf, new Uint8Array([1]))).toBe(true);
                break;
              }
              case "reopen":
                durable.close();
                durable = DurableStorage.open(dir, { segmentBytes: 256 });
                break;
            }
            expect(view(durable)).toEqual(view(model));
          }
          durable.close();
          const reopened = DurableStorage.open(dir, { segmentBytes: 256 });
          expect(view(reopened)).toEqual(view(model));
          reopened.close();
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed: 11, numRuns: 60 },
    );
  }, 60_000); // 60 fast-check runs over real files: seconds on a loaded machine
});
