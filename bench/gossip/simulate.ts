// bench/gossip: figures of the SWIM + Lifeguard core from the seeded in-process simulation
// (libs/gossip/tests/gossip-sim.ts: real Memberlist cores, real encoded packets, simulated loss
// and 1–10 ms latency). Prints a markdown report and writes it with the raw numbers to
// bench/gossip/results/. Times are simulated, so the figures replay exactly from the seed.
// Goals (issue 11): detection <= 5 s at default settings, zero false positives at 10 % loss with
// Lifeguard, < 1 kB/s per member.
// Usage: npx tsx --conditions=@meshwork/source bench/gossip/simulate.ts [quick]
import { mkdirSync, writeFileSync } from "node:fs";
import {
  measureBandwidth,
  measureDetection,
  measureDissemination,
  measureFalsePositives,
  percentile,
} from "../../libs/gossip/tests/sim-measure.ts";
import type { DetectionSample } from "../../libs/gossip/tests/sim-measure.ts";
import { DEFAULT_GOSSIP_SETTINGS } from "../../libs/gossip/src/index.ts";

const quick = process.argv[2] === "quick";
const lines: string[] = [];
const raw: Record<string, unknown> = {};
const say = (line: string) => {
  lines.push(line);
  console.log(line);
};
const s = (ms: number | undefined) => (ms === undefined ? "—" : `${(ms / 1_000).toFixed(2)} s`);

say(`# Gossip simulation (${new Date().toISOString()}${quick ? ", quick" : ""})`);
say("");
const d = DEFAULT_GOSSIP_SETTINGS;
say(
  `## Failure detection (default settings: probe ${d.probeIntervalMs} ms, timeout ${d.probeTimeoutMs} ms, indirect k = ${d.indirectChecks}, suspicionMult ${d.suspicionMult}, ` +
    `max ×${d.suspicionMaxTimeoutMult}, K = ${d.suspicionConfirmations} confirmations, gossip ${d.gossipIntervalMs} ms × ${d.gossipNodes}, Lifeguard on)`,
);
say("");
say("| members | crashes | first suspicion p50 / p99 | first dead p50 / p99 | all members know p50 / p99 | false positives |");
say("|---|---|---|---|---|---|");
const detectionSizes = quick ? [100] : [100, 1_000];
for (const members of detectionSizes) {
  const samples: DetectionSample[] = [];
  let falsePositives = 0;
  for (const seed of members >= 1_000 ? [1, 2] : [1, 2, 3]) {
    const run = measureDetection({ seed, members, crashes: members >= 1_000 ? 8 : 10, spacingMs: 45_000 });
    samples.push(...run.samples);
    falsePositives += run.falsePositives;
  }
  const col = (pick: (x: DetectionSample) => number | undefined) =>
    `${s(percentile(samples.map(pick), 50))} / ${s(percentile(samples.map(pick), 99))}`;
  say(`| ${members} | ${samples.length} | ${col((x) => x.firstSuspectMs)} | ${col((x) => x.firstDeadMs)} | ${col((x) => x.allDeadMs)} | ${falsePositives} |`);
  raw[`detection-${members}`] = samples;
}
say("");
say(`## Dissemination of one update (user event), in gossip rounds of ${d.gossipIntervalMs} ms`);
say("");
say("| members | rounds to reach all | log2(n) | ln(n) | rounds / log2(n) |");
say("|---|---|---|---|---|");
for (const members of quick ? [10, 100] : [10, 100, 1_000]) {
  const rounds: number[] = [];
  for (const seed of members >= 1_000 ? [1] : [1, 2, 3]) rounds.push(measureDissemination({ seed, members }).rounds);
  const mean = rounds.reduce((a, b) => a + b, 0) / rounds.length;
  say(`| ${members} | ${mean.toFixed(1)} | ${Math.log2(members).toFixed(1)} | ${Math.log(members).toFixed(1)} | ${(mean / Math.log2(members)).toFixed(2)} |`);
  raw[`dissemination-${members}`] = rounds;
}
say("");
say("## False positives under uniform datagram loss (no member fails; every death verdict is false)");
say("");
say("| members | loss | Lifeguard | seeds | sim time each | dead verdicts | member-failed events | suspicions | refutations |");
say("|---|---|---|---|---|---|---|---|---|");
const fpMembers = quick ? 50 : 100;
const fpDuration = 300_000;
const fpCases: [members: number, durationMs: number, lossRate: number, lifeguard: boolean, seeds: number[]][] = [
  [fpMembers, fpDuration, 0.1, true, [1, 2, 3]],
  [fpMembers, fpDuration, 0.1, false, [1, 2, 3]],
  [fpMembers, fpDuration, 0.3, true, [1]],
  [fpMembers, fpDuration, 0.3, false, [1]],
  ...(quick ? [] : [[1_000, 60_000, 0.1, true, [1]] as [number, number, number, boolean, number[]]]),
];
for (const [members, durationMs, lossRate, lifeguard, seeds] of fpCases) {
  const runs = seeds.map((seed) => measureFalsePositives({ seed, members, durationMs, lossRate, lifeguard }));
  const sum = (pick: (run: (typeof runs)[number]) => number) => runs.reduce((total, run) => total + pick(run), 0);
  say(
    `| ${members} | ${lossRate * 100} % | ${lifeguard ? "on" : "off"} | ${seeds.length} | ${durationMs / 1_000} s | ${sum((r) => r.deadDeclarations)} | ${sum((r) => r.failedEvents)} | ${sum((r) => r.suspicions)} | ${sum((r) => r.refutations)} |`,
  );
  raw[`fp-${members}-${lossRate}-${lifeguard}`] = runs;
}
say("");
say("## Bandwidth per member (steady state, sent bytes; no IP/UDP/TCP headers)");
say("");
say("Short records: names/addresses like `node-123`, no tags. Realistic records: a 24-byte name, a");
say("21-byte address and four tags (role, dc, port, 36-byte node id), about 120 bytes per member.");
say("");
say("| members | records | window | UDP B/s | push/pull B/s | total with AES-GCM envelope B/s | datagrams/s |");
say("|---|---|---|---|---|---|---|");
const realistic = { role: "agent", dc: "dc1", port: "8500", id: "8f14e45f-ceea-467f-a0e6-3f8b6c1d2a9e" };
for (const members of quick ? [100] : [100, 1_000]) {
  for (const [label, prefix, tags] of [["short", "node-", {}], ["realistic", "agent.dc1.mesh.internal:", realistic]] as const) {
    // Two push/pull periods (30 s scaled: 60 s at 100 members, 180 s at 1,000) after the first round.
    const windowMs = members >= 1_000 ? 360_000 : 240_000;
    const run = measureBandwidth({ seed: 1, members, windowMs, prefix, tags });
    say(
      `| ${members} | ${label} | ${windowMs / 1_000} s | ${run.udpBytesPerMemberPerSecond.toFixed(0)} | ${run.streamBytesPerMemberPerSecond.toFixed(0)} | ${run.encryptedBytesPerMemberPerSecond.toFixed(0)} | ${run.packetsPerMemberPerSecond.toFixed(2)} |`,
    );
    raw[`bandwidth-${members}-${label}`] = run;
  }
}

const dir = new URL("./results/", import.meta.url);
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(new URL(`simulate-${stamp}.md`, dir), `${lines.join("\n")}\n`);
writeFileSync(new URL(`simulate-${stamp}.json`, dir), `${JSON.stringify(raw, null, 2)}\n`);
