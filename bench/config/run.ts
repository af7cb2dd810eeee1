// bench/config: load + validate + analyze a generated mesh of 1,000 services (~5,000 resources),
// each run in a fresh Node process on the built library; beside it, the floor: only parsing the
// same YAML with js-yaml. Prints medians of several runs and the ratios.
// Goal (issue 2): under 1 s and 150 MB RSS.
// Usage: npx tsx bench/config/run.ts [services=1000] [runs=7]   (builds libs/config first)
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateMesh } from "./generate-mesh.ts";

const services = Number(process.argv[2] ?? 1_000);
const runs = Number(process.argv[3] ?? 7);
execFileSync("npx", ["tsc", "-b", "libs/config/tsconfig.lib.json"], { cwd: join(import.meta.dirname, "../.."), stdio: "inherit" });
const dir = mkdtempSync(join(tmpdir(), "bench-config-"));
const mesh = generateMesh(services);
const file = join(dir, "mesh.yaml");
const catalogFile = join(dir, "catalog.json");
writeFileSync(file, mesh.yaml);
writeFileSync(catalogFile, JSON.stringify(mesh.catalog));

interface Sample { wallMs: number; cpuMs: number; maxRssMb: number; baseRssMb: number; resources: number; issues: number }
const measure = (mode?: string): Sample =>
  JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, "measure-once.mjs"), file, catalogFile, ...(mode ? [mode] : [])], { encoding: "utf8" })) as Sample;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const ours: Sample[] = [];
const floor: Sample[] = [];
for (let i = 0; i < runs; i++) {
  ours.push(measure());
  floor.push(measure("--parse-only"));
}
const summary = (samples: Sample[]) => ({
  wallMs: +median(samples.map((s) => s.wallMs)).toFixed(1),
  cpuMs: +median(samples.map((s) => s.cpuMs)).toFixed(1),
  maxRssMb: +median(samples.map((s) => s.maxRssMb)).toFixed(1),
  baseRssMb: +median(samples.map((s) => s.baseRssMb)).toFixed(1),
});
const o = summary(ours);
const f = summary(floor);
console.log(`mesh: ${services} services, ${mesh.resourceCount} resources, ${(mesh.yaml.length / 1e6).toFixed(2)} MB of YAML; ${runs} runs each, medians`);
console.log(`load+validate+analyze: wall ${o.wallMs} ms, cpu ${o.cpuMs} ms (${((o.cpuMs * 1000) / mesh.resourceCount).toFixed(1)} µs/resource), max RSS ${o.maxRssMb} MB (process before loading: ${o.baseRssMb} MB), accepted ${ours[0]?.resources}, issues ${ours[0]?.issues}`);
console.log(`floor (js-yaml parse only): wall ${f.wallMs} ms, cpu ${f.cpuMs} ms, max RSS ${f.maxRssMb} MB`);
console.log(`ratio to the floor: wall ${(o.wallMs / f.wallMs).toFixed(2)}x, cpu ${(o.cpuMs / f.cpuMs).toFixed(2)}x`);
console.log(`goal: wall < 1000 ms ${o.wallMs < 1000 ? "met" : "NOT met"}, RSS < 150 MB ${o.maxRssMb < 150 ? "met" : "NOT met"}`);
