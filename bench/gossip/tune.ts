// bench/gossip: one candidate set of settings through the detection and false-positive measures
// (the runs used to choose the defaults; simulate.ts reports the defaults themselves).
// Usage: npx tsx --conditions=@meshwork/source bench/gossip/tune.ts '<settings JSON>' [detect100|detect1000|fp10|fp30|all] [false-positive seeds, e.g. 1,2,3]
import { measureDetection, measureFalsePositives, percentile } from "../../libs/gossip/tests/sim-measure.ts";
import type { DetectionSample } from "../../libs/gossip/tests/sim-measure.ts";

const settings = JSON.parse(process.argv[2] ?? "{}") as Record<string, number | boolean>;
const what = process.argv[3] ?? "all";
const fpSeeds = (process.argv[4] ?? "1,2").split(",").map(Number);
const s = (ms: number | undefined) => (ms === undefined ? "—" : `${(ms / 1_000).toFixed(2)}`);
const started = process.cpuUsage();
const label = JSON.stringify(settings);
for (const members of [100, 1_000]) {
  if (what !== "all" && what !== `detect${members}`) continue;
  const samples: DetectionSample[] = [];
  let fp = 0;
  for (const seed of members >= 1_000 ? [1] : [1, 2, 3]) {
    const run = measureDetection({ seed, members, crashes: members >= 1_000 ? 8 : 10, spacingMs: 30_000, settings });
    samples.push(...run.samples);
    fp += run.falsePositives;
  }
  const col = (pick: (x: DetectionSample) => number | undefined) => `${s(percentile(samples.map(pick), 50))}/${s(percentile(samples.map(pick), 99))}`;
  console.log(`${label} detect n=${members}: suspect ${col((x) => x.firstSuspectMs)} dead ${col((x) => x.firstDeadMs)} all ${col((x) => x.allDeadMs)} fp ${fp}`);
}
for (const lossRate of [0.1, 0.3]) {
  if (what !== "all" && what !== `fp${lossRate * 100}`) continue;
  for (const seed of fpSeeds) {
    const run = measureFalsePositives({ seed, members: 100, durationMs: 300_000, lossRate, lifeguard: settings["lifeguard"] !== false, settings });
    console.log(`${label} fp loss=${lossRate} seed=${seed}: dead ${run.deadDeclarations} suspicions ${run.suspicions} refutations ${run.refutations}`);
  }
}
const cpu = process.cpuUsage(started);
console.log(`${label} ${what} cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
