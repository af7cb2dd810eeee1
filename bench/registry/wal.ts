// bench/registry/wal: the registry WAL's group commit on this machine's disk. For batches of 1, 8
// and 64 entries of 256 B, one DurableStorage.save (one write + one fdatasync) per batch; prints
// the median over runs of entries appended per second, saves (fsyncs) per second, and fdatasync
// latency p50/p99. A figure, not an assertion: compare with etcd's 4–14 writes per fdatasync.
// Usage: npx tsx --conditions=@meshwork/source bench/registry/wal.ts [batchesPerRun=300] [runs=3] [dir=os.tmpdir()]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { logIndex, nodeId, term } from "@meshwork/raft";
import type { Entry } from "@meshwork/raft";
import { DurableStorage, nodeWalFs } from "@meshwork/registry";
import type { WalFs } from "@meshwork/registry";

const batchesPerRun = Number(process.argv[2] ?? 300);
const runs = Number(process.argv[3] ?? 3);
const baseDir = process.argv[4] ?? os.tmpdir();
const entryBytes = 256;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

interface RunResult {
  entriesPerSecond: number;
  savesPerSecond: number;
  fsyncP50Ms: number;
  fsyncP99Ms: number;
  fsyncMeanMs: number;
}

function run(batchSize: number): RunResult {
  const dir = fs.mkdtempSync(path.join(baseDir, "registry-wal-bench-"));
  const fsyncMs: number[] = [];
  const timedFs: WalFs = {
    ...nodeWalFs,
    fdatasyncSync: (fd) => {
      const start = performance.now();
      nodeWalFs.fdatasyncSync(fd);
      fsyncMs.push(performance.now() - start);
    },
  };
  try {
    const storage = DurableStorage.open(dir, { fs: timedFs });
    fsyncMs.length = 0;
    const payload = new Uint8Array(entryBytes).fill(0x61);
    let next = 1;
    const start = performance.now();
    for (let b = 0; b < batchesPerRun; b++) {
      const entries: Entry[] = [];
      for (let i = 0; i < batchSize; i++) entries.push({ index: logIndex(next++), term: term(1), type: "normal", data: payload });
      storage.save({ entries, hardState: { term: term(1), vote: nodeId("1"), commit: logIndex(next - 1) }, mustSync: true });
    }
    const seconds = (performance.now() - start) / 1000;
    storage.close();
    return {
      entriesPerSecond: (batchesPerRun * batchSize) / seconds,
      savesPerSecond: batchesPerRun / seconds,
      fsyncP50Ms: percentile(fsyncMs, 0.5),
      fsyncP99Ms: percentile(fsyncMs, 0.99),
      fsyncMeanMs: fsyncMs.reduce((a, b) => a + b, 0) / fsyncMs.length,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`WAL group commit, ${entryBytes} B entries, ${batchesPerRun} batches × ${runs} runs, dir ${baseDir}`);
console.log("batch | entries/s | saves(fsyncs)/s | fdatasync p50 ms | p99 ms | mean ms   (medians over runs)");
for (const batchSize of [1, 8, 64]) {
  const results: RunResult[] = [];
  for (let r = 0; r < runs; r++) results.push(run(batchSize));
  const m = (pick: (result: RunResult) => number): number => median(results.map(pick));
  console.log(
    `${String(batchSize).padStart(5)} | ${m((x) => x.entriesPerSecond).toFixed(0).padStart(9)} | ${m((x) => x.savesPerSecond).toFixed(0).padStart(15)} | ${m((x) => x.fsyncP50Ms).toFixed(3).padStart(16)} | ${m((x) => x.fsyncP99Ms).toFixed(3).padStart(6)} | ${m((x) => x.fsyncMeanMs).toFixed(3)}`,
  );
}
