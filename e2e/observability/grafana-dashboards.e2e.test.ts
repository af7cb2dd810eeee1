// The Grafana dashboards in deploy/grafana: every panel's PromQL parses (Prometheus' own promtool,
// Debian package `prometheus`) and names only metrics and labels a real sidecar exports.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChild, workspaceRoot, type Child } from "./support/processes.ts";

const promtool = "/usr/bin/promtool";
const grafanaDir = join(workspaceRoot, "deploy/grafana");

interface Panel {
  title: string;
  targets?: { expr: string; refId: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
}

/** Dashboard variables replaced by values a query could take. */
const variables: Record<string, string> = { __rate_interval: "5m", reporter: "source", service: "reviews.default.svc.cluster.local", namespace: "default", workload: "reviews-v1", datasource: "prometheus" };
const substitute = (expr: string): string => expr.replace(/\$(\w+)/g, (_, name: string) => variables[name] ?? `$${name}`);

let dashboards: { file: string; dashboard: Dashboard }[] = [];
let sidecar: Child | undefined;
let dir = "";
const exported = new Set<string>();
let labels = new Set<string>();

beforeAll(async () => {
  const files = (await readdir(grafanaDir)).filter((f) => f.endsWith(".json")).sort();
  dashboards = await Promise.all(files.map(async (file) => ({ file, dashboard: JSON.parse(await readFile(join(grafanaDir, file), "utf8")) as Dashboard })));
  // What a real sidecar exports: metric names from its # TYPE lines (histograms as _bucket/_sum/_count),
  // label names from a request it recorded.
  dir = await mkdtemp(join(tmpdir(), "grafana-sidecar-"));
  sidecar = startChild("sidecar", "apps/sidecar/src/main.ts", ["--config", dir, "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0", "--stats-port", "0", "--access-log", "off"]);
  const ports = (await sidecar.waitForLine("sidecar started", 120_000))["ports"] as { outbound: number; stats: number };
  await new Promise<void>((resolve) => {
    const req = request({ host: "127.0.0.1", port: ports.outbound, path: "/", headers: { host: "nowhere.test" } }, (res) => res.resume().on("end", resolve));
    req.on("error", () => resolve());
    req.end();
  });
  const text = await (await fetch(`http://127.0.0.1:${ports.stats}/stats/prometheus`)).text();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (name === undefined) continue;
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(`${name}${suffix}`);
    else exported.add(name);
  }
  const sample = text.split("\n").find((l) => l.startsWith("istio_requests_total{")) ?? "";
  labels = new Set([...sample.matchAll(/(\w+)="/g)].map((m) => m[1] ?? ""));
  labels.add("le");
}, 180_000);

afterAll(async () => {
  await sidecar?.stop();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("Grafana dashboards", () => {
  it("ship the mesh, service and workload dashboards, each panel with a query", () => {
    expect(dashboards.map((d) => d.dashboard.uid)).toEqual(["meshwork-mesh", "meshwork-service", "meshwork-workload"]);
    for (const { file, dashboard } of dashboards) {
      expect(dashboard.panels.length, file).toBeGreaterThan(5);
      for (const panel of dashboard.panels) expect(panel.targets?.length ?? 0, `${file}: ${panel.title}`).toBeGreaterThan(0);
    }
  });

  it("name only Istio metrics and labels the sidecar exports", () => {
    expect(exported.has("istio_requests_total") && exported.has("istio_request_duration_milliseconds_bucket")).toBe(true);
    expect(labels.has("destination_service") && labels.has("response_code")).toBe(true);
    for (const { file, dashboard } of dashboards) {
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? []) {
          const metrics = [...target.expr.matchAll(/\b(istio_\w+)/g)].map((m) => m[1] ?? "");
          expect(metrics.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
          for (const m of metrics) expect(exported.has(m), `${file}: ${panel.title}: ${m} is not exported by the sidecar`).toBe(true);
          const matchers = [...target.expr.matchAll(/(\w+)\s*(?:=~|!~|!=|=)\s*"/g)].map((m) => m[1] ?? "");
          const grouped = [...target.expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => (m[1] ?? "").split(",").map((l) => l.trim()));
          const used = [...matchers, ...grouped];
          for (const l of used) expect(labels.has(l), `${file}: ${panel.title}: label ${l} is not on the sidecar's series`).toBe(true);
        }
      }
    }
  });

  it("parse as PromQL (promtool check rules)", async () => {
    if (!existsSync(promtool)) throw new Error(`${promtool} is missing: install Debian's prometheus package (apt-get install prometheus), which ships promtool`);
    const rules = dashboards.flatMap(({ dashboard }) =>
      dashboard.panels.flatMap((panel, i) => (panel.targets ?? []).map((t) => `      - record: ${dashboard.uid.replace(/-/g, "_")}:panel_${i}_${t.refId}\n        expr: ${JSON.stringify(substitute(t.expr))}`)),
    );
    const file = join(dir, "dashboards.rules.yml");
    await writeFile(file, `groups:\n  - name: dashboards\n    rules:\n${rules.join("\n")}\n`);
    const { stdout } = await promisify(execFile)(promtool, ["check", "rules", file]).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool rejected a panel's query:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    });
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});
