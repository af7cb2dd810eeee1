// Reading the mesh: resetting its config to what `meshctl up` set (so a task that failed half-way
// does not leak its rules into the next), Prometheus counters of a proxy, and the access log lines
// meshctl up collected from every process.
import { readFileSync } from "node:fs";
import { applyYaml, fixture } from "./mesh-config.ts";
import type { MeshEndpoints } from "./local-mesh.ts";

/**
 * What meshctl up sets and a reset keeps: Istio's bookinfo Gateway + VirtualService and the
 * DestinationRules it applies, and the bookinfo ServiceEntries/WorkloadEntries of its config dir.
 */
const baseline = (r: { kind: string; metadata: { name: string } }) =>
  (r.kind === "Gateway" && r.metadata.name === "bookinfo-gateway") ||
  (r.kind === "VirtualService" && r.metadata.name === "bookinfo") ||
  r.kind === "DestinationRule" ||
  r.kind === "ServiceEntry" ||
  r.kind === "WorkloadEntry";

/** Deletes every resource a task applied and re-applies Istio's destination-rule-all.yaml, then waits for the proxies. */
export async function resetToBaseline(mesh: MeshEndpoints): Promise<void> {
  const base = mesh.controlPlanes[0] as string;
  const response = await fetch(`${base}/api/v1/config`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${base}/api/v1/config: HTTP ${response.status}`);
  const served = (await response.json()) as { resources: { kind: string; metadata: { name: string; namespace?: string } }[] };
  for (const r of served.resources.filter((x) => !baseline(x))) {
    const path = `/api/v1/config/${r.kind}/${encodeURIComponent(r.metadata.namespace ?? "default")}/${encodeURIComponent(r.metadata.name)}`;
    const deleted = await fetch(`${base}${path}`, { method: "DELETE", signal: AbortSignal.timeout(10_000) });
    await deleted.arrayBuffer();
  }
  await applyYaml(mesh, fixture("destination-rule-all.yaml"));
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of `metric` in a proxy's /stats/prometheus (its stats port). */
export async function prometheusSamples(statsBase: string, metric: string): Promise<Sample[]> {
  const response = await fetch(`${statsBase}/stats/prometheus`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${statsBase}/stats/prometheus: HTTP ${response.status}: ${text.slice(0, 200)}`);
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] as string] = (m[2] as string).replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of the samples whose labels include `where`. */
export function sumWhere(samples: readonly Sample[], where: Readonly<Record<string, string>>): number {
  return samples.filter((s) => Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

export interface AccessLogEntry {
  readonly process: string;
  readonly entry: Record<string, unknown>;
}

/** Access-log lines (JSON with response_code) of `process` in meshctl up's output, from byte `from` on. */
export function accessLog(mesh: MeshEndpoints, process: string, from = 0): AccessLogEntry[] {
  const text = readFileSync(mesh.logFile).subarray(from).toString("utf8");
  const out: AccessLogEntry[] = [];
  for (const line of text.split("\n")) {
    const bar = line.indexOf(" | ");
    if (bar < 0 || line.slice(0, bar).trim() !== process) continue;
    const json = line.slice(bar + 3);
    if (!json.startsWith("{") || !json.includes('"response_code"')) continue;
    try {
      out.push({ process, entry: JSON.parse(json) as Record<string, unknown> });
    } catch {
      // a line cut by the pipe: skip
    }
  }
  return out;
}

/** Current size of meshctl up's output, to read only what follows. */
export function logOffset(mesh: MeshEndpoints): number {
  return readFileSync(mesh.logFile).length;
}
