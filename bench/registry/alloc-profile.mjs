#!/usr/bin/env node
// bench/registry/alloc-profile: where a registry node allocates (all allocations, not only what
// is still alive: the V8 sampling heap profiler with objects collected by minor and major GCs
// included — Node's --heap-prof keeps only live objects, which hides request garbage).
// A figure, not a test.
//
// Two uses of one file:
//   1. preload in a node:  node --import ./bench/registry/alloc-profile.mjs apps/registry/dist/main.js ...
//      Sampling starts ALLOC_PROFILE_DELAY_MS after start (default 3000: skips module loading);
//      `kill -USR2 PID` writes ALLOC_PROFILE_DIR/<pid>.heapprofile (default os.tmpdir()).
//   2. summary:            node bench/registry/alloc-profile.mjs FILE.heapprofile [--top 30] [--callers REGEX] [--depth 2]
//      Self bytes by function; with --callers, who called the functions matching REGEX.
import { Session } from "node:inspector";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const runAsScript = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];

if (!runAsScript) {
  const session = new Session();
  session.connect();
  session.post("HeapProfiler.enable");
  setTimeout(() => {
    session.post("HeapProfiler.startSampling", { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (error) => {
      if (error) console.error("alloc-profile: could not start sampling", error);
    });
  }, Number(process.env.ALLOC_PROFILE_DELAY_MS ?? 3000)).unref();
  process.on("SIGUSR2", () => {
    session.post("HeapProfiler.stopSampling", (error, result) => {
      if (error) return console.error("alloc-profile: could not stop sampling", error);
      const file = join(process.env.ALLOC_PROFILE_DIR ?? tmpdir(), `${process.pid}.heapprofile`);
      writeFileSync(file, JSON.stringify(result.profile));
      console.error(`alloc-profile: wrote ${file}`);
    });
  });
} else {
  const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "30" }, callers: { type: "string" }, depth: { type: "string", default: "2" } } });
  const profile = JSON.parse(readFileSync(positionals[0], "utf8"));
  const name = (n) => `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/.*\/(apps|libs|node_modules)\//, "$1/").replace(/^node:internal\//, "")}:${n.callFrame.lineNumber + 1}`;
  const bytes = new Map();
  let total = 0;
  const pattern = o.callers === undefined ? null : new RegExp(o.callers);
  const walk = (node, stack) => {
    const here = name(node);
    total += node.selfSize;
    const key = pattern === null ? here : pattern.test(here) && node.selfSize > 0 ? stack.slice(-Number(o.depth)).reverse().join(" <- ") : null;
    if (key !== null) bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, [...stack, here]);
  };
  walk(profile.head, []);
  console.log(`sampled allocations: ${(total / 1048576).toFixed(1)} MB`);
  for (const [k, v] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, Number(o.top))) console.log(`${(v / 1048576).toFixed(2).padStart(8)} MB  ${k}`);
}
