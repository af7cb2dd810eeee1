// Checks DurableStorage on real files in a temp directory: round trips and reopening, torn tails,
// refused corruption, overwritten suffixes, snapshots and compaction, crashes that lose exactly
// what was not synced, and write errors that surface without damaging the log.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { logIndex, nodeId, term } from "@meshwork/raft";
import type { ConfState, Entry, HardState } from "@meshwork/raft";
import { afterEach, describe, expect, it } from "vitest";
import { CrashFs, FailingFs } from "../../tests/crash-fs.ts";
import { DurableStorage } from "./durable-storage.ts";
import { WalCorruptionError } from "./wal.ts";
import { nodeWalFs } from "./wal-fs.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-wal-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function entry(index: number, t: number, text = `e${index}`): Entry {
  return { index: logIndex(index), term: term(t), type: "normal", data: new TextEncoder().encode(text) };
}
function entries(from: number, to: number, t: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, t));
  return out;
}
function hs(t: number, commit: number, vote: string | null = "1"): HardState {
  return { term: term(t), commit: logIndex(commit), vote: vote === null ? null : nodeId(vote) };
}
const conf: ConfState = { voters: ["1", "2", "3"].map(nodeId), learners: [] };

/** Everything the storage serves, for comparing two of them. */
function view(storage: DurableStorage): unknown {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  return {
    first,
    last,
    prevTerm: storage.term(logIndex(first - 1)),
    entries: last >= first ? storage.entries(first, logIndex(last + 1), Infinity) : [],
    state: storage.initialState(),
    snapshot: storage.snapshot(),
  };
}

function segments(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith(".wal")).sort();
}

describe("DurableStorage", () => {
  it("serves what it saved, and the same after a reopen", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir);
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(0);
    storage.save({ entries: entries(1, 5, 1), hardState: hs(1, 3), mustSync: true });
    storage.save({ entries: [], hardState: hs(1, 5), mustSync: false });
    expect(storage.entries(logIndex(2), logIndex(4), Infinity)).toEqual(entries(2, 3, 1));
    expect(storage.term(logIndex(5))).toBe(1);
    const before = view(storage);
    storage.close();
    const reopened = DurableStorage.open(dir);
    expect(view(reopened)).toEqual(before);
    expect(reopened.initialState().hardState).toEqual(hs(1, 5));
    reopened.close();
  });

  it("founds a cluster from bootstrap only in an empty directory", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir, { bootstrap: conf });
    expect(storage.lastIndex()).toBe(3);
    storage.close();
    const reopened = DurableStorage.open(dir, { bootstrap: conf });
    expect(reopened.lastIndex()).toBe(3);
    reopened.close();
  });

  it("drops the stored log after i when entries are appended at i (Raft §5.3), also after a reopen", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir);
    storage.save({ entries: entries(1, 6, 1), hardState: hs(1, 2), mustSync: true });
    storage.save({ entries: [entry(4, 2, "new4"), entry(5, 2, "new5")], hardState: hs(2, 2), mustSync: true });
    const want = [...entries(1, 3, 1), entry(4, 2, "new4"), entry(5, 2, "new5")];
    expect(storage.entries(logIndex(1), logIndex(6), Infinity)).toEqual(want);
    expect(() => storage.save({ entries: [entry(9, 2)], mustSync: true })).toThrow(RangeError);
    storage.close();
    const reopened = DurableStorage.open(dir);
    expect(reopened.lastIndex()).toBe(5);
    expect(reopened.entries(logIndex(1), logIndex(6), Infinity)).toEqual(want);
    reopened.close();
  });

  it("truncates a torn last record wherever it is cut, keeping everything before it", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir);
    storage.save({ entries: entries(1, 3, 1), hardState: hs(1, 2), mustSync: true });
    const wal = path.join(dir, segments(dir)[0] as string);
    const synced = fs.statSync(wal).size;
    const before = view(storage);
    storage.save({ entries: [entry(4, 1, "the last record")], mustSync: true });
    storage.close();
    const full = fs.readFileSync(wal);
    for (let cut = synced; cut < full.length; cut++) {
      fs.writeFileSync(wal, full.subarray(0, cut));
      const reopened = DurableStorage.open(dir);
      expect(view(reopened)).toEqual(before);
      reopened.close();
      expect(fs.statSync(wal).size).toBe(synced);
    }
    fs.writeFileSync(wal, full);
    const whole = DurableStorage.open(dir);
    expect(whole.lastIndex()).toBe(4);
    whole.close();
  });

  it("refuses a corrupted record in the middle, naming the file and offset", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir);
    for (let i = 1; i <= 5; i++) storage.save({ entries: [entry(i, 1, `payload ${i}`)], mustSync: true });
    storage.close();
    const wal = path.join(dir, segments(dir)[0] as string);
    const bytes = fs.readFileSync(wal);
    const at = bytes.indexOf(Buffer.from("payload 2"));
    bytes[at] = (bytes[at] as number) ^ 0xff;
    fs.writeFileSync(wal, bytes);
    let error: unknown;
    try {
      DurableStorage.open(dir).close();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect((error as Error).message).toMatch(wal);
    expect((error as Error).message).toMatch(/byte offset \d+: CRC mismatch/);
    expect((error as Error).message).toMatch(/restore its data directory from a peer/);
    expect(fs.readFileSync(wal).equals(bytes), "nothing was truncated").toBe(true);
  });

  it("refuses a missing segment in the middle", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir, { segmentBytes: 200 });
    for (let i = 1; i <= 30; i++) storage.save({ entries: [entry(i, 1)], hardState: hs(1, i), mustSync: true });
    storage.close();
    const names = segments(dir);
    expect(names.length).toBeGreaterThan(3);
    fs.unlinkSync(path.join(dir, names[1] as string));
    expect(() => DurableStorage.open(dir)).toThrow(/is missing before/);
  });

  it("rolls segments, reopens across them, and compaction deletes the segments a snapshot covers", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir, { segmentBytes: 300 });
    for (let i = 1; i <= 40; i++) storage.save({ entries: [entry(i, 1)], hardState: hs(1, i), mustSync: true });
    const rolled = segments(dir).length;
    expect(rolled).toBeGreaterThan(5);
    expect(storage.createSnapshotAndCompact(logIndex(30), conf, new TextEncoder().encode("state@30"))).toBe(true);
    expect(storage.createSnapshotAndCompact(logIndex(30), conf, new Uint8Array(0))).toBe(false);
    expect(segments(dir).length).toBeLessThan(rolled);
    expect(storage.firstIndex()).toBe(31);
    expect(storage.term(logIndex(30))).toBe(1);
    expect(storage.term(logIndex(29))).toBeUndefined();
    const before = view(storage);
    storage.close();
    const reopened = DurableStorage.open(dir, { segmentBytes: 300 });
    expect(view(reopened)).toEqual(before);
    expect(new TextDecoder().decode(reopened.snapshot().data)).toBe("state@30");
    expect(fs.readdirSync(dir).filter((name) => name.endsWith(".snap"))).toHaveLength(1);
    reopened.close();
  });

  it("keeps catchUpEntries below a local snapshot in memory; after a restart the log starts after the snapshot", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir, { segmentBytes: 300, catchUpEntries: 10 });
    for (let i = 1; i <= 40; i++) storage.save({ entries: [entry(i, 1)], hardState: hs(1, i), mustSync: true });
    expect(storage.createSnapshotAndCompact(logIndex(30), conf, new TextEncoder().encode("state@30"))).toBe(true);
    expect(storage.snapshot().metadata.index).toBe(30);
    expect(storage.firstIndex()).toBe(21);
    expect(storage.term(logIndex(20))).toBe(1);
    expect(storage.entries(logIndex(21), logIndex(41), Infinity).map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, k) => 21 + k));
    // The same index again is refused.
    expect(storage.createSnapshotAndCompact(logIndex(30), conf, new Uint8Array(0))).toBe(false);
    storage.close();
    const reopened = DurableStorage.open(dir, { segmentBytes: 300, catchUpEntries: 10 });
    expect(reopened.firstIndex()).toBe(31);
    expect(reopened.lastIndex()).toBe(40);
    expect(new TextDecoder().decode(reopened.snapshot().data)).toBe("state@30");
    reopened.close();
  });

  it("replaces the whole log by a snapshot from the leader and keeps its hard state", () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir);
    storage.save({ entries: entries(1, 4, 1), hardState: hs(1, 2), mustSync: true });
    const snapshot = { metadata: { index: logIndex(10), term: term(3), confState: conf }, data: new Uint8Array([1, 2, 3]) };
    storage.save({ snapshot, entries: [entry(11, 3)], hardState: hs(3, 10, null), mustSync: true });
    expect(storage.firstIndex()).toBe(11);
    expect(storage.lastIndex()).toBe(11);
    const before = view(storage);
    storage.close();
    const reopened = DurableStorage.open(dir);
    expect(view(reopened)).toEqual(before);
    expect(reopened.initialState()).toEqual({ hardState: hs(3, 10, null), confState: conf });
    reopened.close();
  });

  it("makes an unsynced hard state durable when it writes a snapshot", () => {
    const dir = tempDir();
    const crashFs = new CrashFs();
    const storage = DurableStorage.open(dir, { fs: crashFs });
    storage.save({ entries: entries(1, 5, 1), hardState: hs(1, 1), mustSync: true });
    storage.save({ entries: [], hardState: hs(1, 5), mustSync: false }); // commit-only: not synced
    storage.createSnapshotAndCompact(logIndex(4), conf, new Uint8Array(0));
    crashFs.crash(() => 0);
    const reopened = DurableStorage.open(dir);
    expect(reopened.initialState().hardState.commit).toBe(5);
    expect(reopened.firstIndex()).toBe(5);
    reopened.close();
  });

  it("writes a commit-only hard state with the next synced write or at close, not on its own", () => {
    const dir = tempDir();
    let writes = 0;
    const countingFs = { ...nodeWalFs, writeAtSync: (fd: number, bytes: Uint8Array, position: number) => (writes++, nodeWalFs.writeAtSync(fd, bytes, position)) };
    const storage = DurableStorage.open(dir, { fs: countingFs });
    storage.save({ entries: entries(1, 3, 1), hardState: hs(1, 1), mustSync: true });
    const before = writes;
    storage.save({ entries: [], hardState: hs(1, 3), mustSync: false });
    expect(writes).toBe(before);
    expect(storage.initialState().hardState).toEqual(hs(1, 3)); // served at once all the same
    storage.save({ entries: entries(4, 4, 1), mustSync: true }); // carries it: one write
    expect(writes).toBe(before + 1);
    storage.save({ entries: [], hardState: hs(1, 4), mustSync: false });
    storage.close();
    const reopened = DurableStorage.open(dir);
    expect(reopened.initialState().hardState).toEqual(hs(1, 4));
    expect(reopened.lastIndex()).toBe(4);
    reopened.close();
  });

  it("after a crash, serves the commit index of the last synced write", () => {
    const dir = tempDir();
    const crashFs = new CrashFs();
    const storage = DurableStorage.open(dir, { fs: crashFs });
    storage.save({ entries: entries(1, 3, 1), hardState: hs(1, 1), mustSync: true });
    storage.save({ entries: [], hardState: hs(1, 3), mustSync: false });
    storage.save({ entries: entries(4, 4, 1), mustSync: true });
    storage.save({ entries: [], hardState: hs(1, 4), mustSync: false });
    crashFs.crash(() => 0);
    const reopened = DurableStorage.open(dir);
    expect(reopened.initialState().hardState).toEqual(hs(1, 3));
    expect(reopened.lastIndex()).toBe(4);
    reopened.close();
  });

  it("keeps every batch acknowledged before a crash at random points (seeded)", () => {
    const seed = Number(process.env["SEED"] ?? 42);
    let state = seed;
    const random = (): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const rounds = Number(process.env["CRASH_ROUNDS"] ?? 20);
    for (let round = 0; round < rounds; round++) {
      const dir = tempDir();
      let crashFs = new CrashFs();
      let storage = DurableStorage.open(dir, { fs: crashFs, segmentBytes: 512 });
      const acked: Entry[] = [];
      let ackedCommit = 0;
      let t = 1;
      for (let crash = 0; crash < 4; crash++) {
        const batches = 1 + Math.floor(random() * 15);
        for (let b = 0; b < batches; b++) {
          if (random() < 0.1) {
            // Compaction at the commit index: the snapshot write also makes that commit durable.
            const commit = storage.currentHardState().commit;
            if (storage.createSnapshotAndCompact(commit, conf, new TextEncoder().encode(`state@${commit}`))) ackedCommit = commit;
            continue;
          }
          if (random() < 0.2) {
            // A commit-only Ready: mustSync is false, so a crash may lose it.
            storage.save({ entries: [], hardState: hs(t, Math.min(storage.currentHardState().commit + 1, storage.lastIndex())), mustSync: false });
            continue;
          }
          // Entries always need a sync (RawNode sets mustSync); a new term may overwrite an uncommitted tail.
          const commit = storage.currentHardState().commit;
          const overwrite = random() < 0.1 && acked.length > commit + 1;
          const from = overwrite ? commit + 1 + Math.floor(random() * (acked.length - commit)) : storage.lastIndex() + 1;
          if (overwrite) t++;
          const batch = entries(from, from + Math.floor(random() * 8), t);
          storage.save({ entries: batch, hardState: hs(t, storage.currentHardState().commit), mustSync: true });
          acked.length = from - 1;
          acked.push(...batch);
          ackedCommit = storage.currentHardState().commit;
        }
        crashFs.crash((unsynced) => Math.floor(random() * (unsynced + 1)), random() < 0.3);
        crashFs = new CrashFs();
        storage = DurableStorage.open(dir, { fs: crashFs, segmentBytes: 512 });
        const label = `seed ${seed} round ${round} crash ${crash} (rerun with SEED=${seed})`;
        expect(storage.lastIndex(), label).toBeGreaterThanOrEqual(acked.length);
        const first = storage.firstIndex();
        expect(storage.term(logIndex(first - 1)), label).toBe(first === 1 ? 0 : acked[first - 2]?.term);
        expect(storage.entries(first, logIndex(acked.length + 1), Infinity), label).toEqual(acked.slice(first - 1));
        expect(new TextDecoder().decode(storage.snapshot().data), label).toBe(first === 1 ? "" : `state@${first - 1}`);
        expect(storage.initialState().hardState.commit, label).toBeGreaterThanOrEqual(ackedCommit);
        // What survived beyond the acknowledged prefix counts as written from now on.
        if (storage.lastIndex() > acked.length) acked.push(...storage.entries(logIndex(acked.length + 1), logIndex(storage.lastIndex() + 1), Infinity));
        t = Math.max(t, ...acked.map((e) => e.term));
      }
      storage.close();
    }
  }, 5000 + 200 * Number(process.env["CRASH_ROUNDS"] ?? 20)); // a soak with more rounds takes longer

  it("saveAsync serves a Ready only once its fdatasync is done, and a reopen finds it", async () => {
    const dir = tempDir();
    const storage = DurableStorage.open(dir);
    storage.save({ entries: entries(1, 2, 1), hardState: hs(1, 1), mustSync: true });
    const done = new Promise<Error | null>((resolve) => storage.saveAsync({ entries: entries(3, 5, 1), hardState: hs(1, 2), mustSync: true }, resolve));
    expect(storage.lastIndex()).toBe(2);
    expect(storage.currentHardState().commit).toBe(1);
    expect(await done).toBeNull();
    expect(storage.lastIndex()).toBe(5);
    expect(storage.currentHardState().commit).toBe(2);
    // A commit-only Ready needs no sync and is served at once.
    storage.saveAsync({ entries: [], hardState: hs(1, 4), mustSync: false }, () => undefined);
    expect(storage.currentHardState().commit).toBe(4);
    storage.close();
    const reopened = DurableStorage.open(dir);
    expect(reopened.entries(logIndex(1), logIndex(6), Infinity)).toEqual(entries(1, 5, 1));
    reopened.close();
  });

  it("saveAsync reports a failed fdatasync, serves nothing of that Ready and refuses later writes", async () => {
    const dir = tempDir();
    const failingSync = { ...nodeWalFs, fdatasync: (_fd: number, done: (error: Error | null) => void) => setImmediate(() => done(new Error("EIO: fdatasync failed"))) };
    const storage = DurableStorage.open(dir, { fs: failingSync });
    storage.save({ entries: entries(1, 2, 1), hardState: hs(1, 1), mustSync: true });
    const error = await new Promise<Error | null>((resolve) => storage.saveAsync({ entries: entries(3, 4, 1), mustSync: true }, resolve));
    expect(error?.message).toMatch(/EIO/);
    expect(storage.lastIndex()).toBe(2);
    expect(() => storage.save({ entries: entries(3, 3, 1), mustSync: true })).toThrow(/WAL is unusable after an earlier failure: fdatasync failed/);
  });

  it("surfaces a full disk to the caller and stays readable, before and after a reopen", () => {
    const dir = tempDir();
    const failing = new FailingFs();
    const storage = DurableStorage.open(dir, { fs: failing });
    storage.save({ entries: entries(1, 3, 1), hardState: hs(1, 2), mustSync: true });
    const before = view(storage);
    failing.budgetBytes = 10;
    expect(() => storage.save({ entries: entries(4, 8, 1), hardState: hs(1, 3), mustSync: true })).toThrow(/ENOSPC/);
    expect(view(storage)).toEqual(before);
    failing.budgetBytes = Infinity;
    storage.save({ entries: entries(4, 5, 1), mustSync: true }); // space freed: writing goes on
    storage.close();
    const reopened = DurableStorage.open(dir);
    expect(reopened.lastIndex()).toBe(5);
    expect(reopened.entries(logIndex(1), logIndex(6), Infinity)).toEqual(entries(1, 5, 1));
    reopened.close();
  });

  it("surfaces a full disk while writing a snapshot and keeps the old state", () => {
    const dir = tempDir();
    const failing = new FailingFs();
    const storage = DurableStorage.open(dir, { fs: failing });
    storage.save({ entries: entries(1, 5, 1), hardState: hs(1, 5), mustSync: true });
    const before = view(storage);
    failing.budgetBytes = 5;
    expect(() => storage.createSnapshotAndCompact(logIndex(4), conf, new Uint8Array(100))).toThrow(/ENOSPC/);
    expect(view(storage)).toEqual(before);
    storage.close();
    const reopened = DurableStorage.open(dir);
    expect(view(reopened)).toEqual(before);
    reopened.close();
  });
});
