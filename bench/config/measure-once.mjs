// One measured run in a fresh process (so RSS is this run's), on the built library as
// production runs it: load + validate + analyze the generated mesh, or only parse its YAML
// (`--parse-only`, the floor). Prints one JSON line.
import { readFileSync } from "node:fs";
import jsYaml from "js-yaml";
import { analyzeResources, loadResources } from "@meshwork/config";

const [file, catalogFile, mode] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const catalog = JSON.parse(readFileSync(catalogFile, "utf8"));
const rssBefore = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let resources = 0;
let issues = 0;
if (mode === "--parse-only") {
  resources = jsYaml.loadAll(text, null, { schema: jsYaml.CORE_SCHEMA }).length;
} else {
  const loaded = loadResources([{ path: file, text }]);
  const findings = analyzeResources(loaded.resources, { catalog });
  resources = loaded.resources.length;
  issues = loaded.issues.length + findings.length;
}
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    baseRssMb: rssBefore / 1024 / 1024,
    resources,
    issues,
  }),
);
