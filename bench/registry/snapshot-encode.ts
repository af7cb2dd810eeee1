// bench/registry/snapshot-encode: what a local snapshot costs the node that takes it. A
// RegistryState with N keys (keys k%07d, 256-byte values, as compare-etcd writes), then per run:
// its snapshotChunks taken whole with the CRC-32C the snapshot file keeps (what the node does in
// ~8-ms slices on its event loop, writes aside), and RegistryState.restore of the same bytes (a
// restart, or a follower installing the leader's snapshot). Prints the median over runs of wall
// and CPU ms of each, and the snapshot's size. A figure, not an assertion.
// Usage: npx tsx --conditions=@meshwork/source bench/registry/snapshot-encode.ts [keys=50000] [runs=5]
import { performance } from "node:perf_hooks";
import { RegistryState, crc32c } from "@meshwork/registry";

const keys = Number(process.argv[2] ?? 50_000);
const runs = Number(process.argv[3] ?? 5);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

const state = new RegistryState();
const value = Buffer.alloc(256, 97).toString("base64");
for (let i = 1; i <= keys; i++) state.apply(i, { op: "kv-set", key: `k${String(i).padStart(7, "0")}`, value, flags: 0 }, 0);

/** Wall and CPU ms of `run`. */
function timed(run: () => void): { wallMs: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  run();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
}

const encode: { wallMs: number; cpuMs: number }[] = [];
const restore: { wallMs: number; cpuMs: number }[] = [];
let bytes: Uint8Array = new Uint8Array(0);
for (let r = 0; r < runs; r++) {
  let size = 0;
  encode.push(
    timed(() => {
      let crc = 0;
      for (const chunk of state.snapshotChunks({ reuseBuffer: true })) {
        crc = crc32c(chunk, 0, chunk.length, crc);
        size += chunk.length;
      }
    }),
  );
  if (r === 0) bytes = state.snapshot();
  restore.push(timed(() => void RegistryState.restore(bytes)));
  if (size !== bytes.length) throw new Error(`snapshotChunks gave ${size} bytes, snapshot() ${bytes.length}`);
}
const line = (what: string, list: { wallMs: number; cpuMs: number }[]): string =>
  `${what}: wall ${median(list.map((t) => t.wallMs)).toFixed(1)} ms, CPU ${median(list.map((t) => t.cpuMs)).toFixed(1)} ms (median of ${list.length})`;
console.log(`${keys} keys, snapshot ${(bytes.length / 1e6).toFixed(1)} MB`);
console.log(line("encode + CRC-32C", encode));
console.log(line("restore", restore));
