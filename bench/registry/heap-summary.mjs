#!/usr/bin/env node
// bench/registry/heap-summary: self size of a V8 .heapsnapshot aggregated by node type and
// constructor / string kind, largest first (no retained sizes: that needs the dominator tree).
// usage: node bench/registry/heap-summary.mjs FILE.heapsnapshot [top=25]
import { readFileSync } from "node:fs";

export function heapSummary(file, top = 25) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const width = fields.length;
  const groups = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    const size = snap.nodes[i + iSize];
    total += size;
    const name = type === "object" || type === "closure" || type === "native" || type === "hidden" ? `${type}:${snap.strings[snap.nodes[i + iName]]}` : type;
    const g = groups.get(name) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(name, g);
  }
  const rows = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
  return { totalMb: +(total / 1048576).toFixed(1), rows: rows.map(([name, g]) => ({ name, count: g.count, mb: +(g.bytes / 1048576).toFixed(1) })) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = heapSummary(process.argv[2], Number(process.argv[3] ?? 25));
  console.log(`heap self size total ${s.totalMb} MB`);
  console.log("| kind | count | MB |\n|---|---|---|");
  for (const r of s.rows) console.log(`| ${r.name.slice(0, 60)} | ${r.count} | ${r.mb} |`);
}
