// Preload of bench/registry/slow-put-trace.mjs (`node --import <this> main.js ...`): records, in
// the registry process it is loaded into, every fdatasync off the event loop (call to callback,
// the thread pool's hop included), synchronous fs calls of 0.2 ms or more (a snapshot's rename,
// directory fsync, WAL roll) and every GC, each as [kind, start ms, duration ms] on the monotonic
// clock the load generator reads too; on SIGUSR2 it writes them to $SLOW_PUT_EVENTS_FILE as JSON.
// It wraps node:fs's functions, so the registry needs no change (a diagnostic, not a test).
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { PerformanceObserver, performance } from "node:perf_hooks";

const now = () => Number(process.hrtime.bigint()) / 1e6;
const offset = now() - performance.now();
const events = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) events.push([`gc${entry.detail?.kind ?? ""}`, offset + entry.startTime, entry.duration]);
}).observe({ entryTypes: ["gc"] });

const fdatasync = fs.fdatasync;
fs.fdatasync = function (fd, callback) {
  const start = now();
  return fdatasync.call(fs, fd, (error) => {
    events.push(["fdatasync", start, now() - start]);
    callback(error);
  });
};
for (const name of ["writeSync", "renameSync", "fsyncSync", "fdatasyncSync", "ftruncateSync", "openSync", "closeSync", "unlinkSync"]) {
  const original = fs[name];
  fs[name] = function (...args) {
    const start = now();
    try {
      return original.apply(fs, args);
    } finally {
      const took = now() - start;
      if (took >= 0.2) events.push([name, start, took]);
    }
  };
}
syncBuiltinESMExports();

process.on("SIGUSR2", () => fs.writeFileSync(process.env.SLOW_PUT_EVENTS_FILE ?? `/tmp/slow-put-events-${process.pid}.json`, JSON.stringify(events)));
