// `meshctl prometheus-config`: a Prometheus config that scrapes the local mesh the way Istio's
// does: every sidecar's and the gateway's /stats/prometheus (job envoy-stats) and the control
// planes' /metrics. Targets come from --targets, else from the running mesh's up.json, else from
// the plan of the default topology (what `meshctl up` would start).
import { join } from "node:path";
import { defineSettings } from "@meshwork/runtime";
import { defaultTopology } from "../core/local-mesh-topology.ts";
import { planLocalMesh } from "../core/plan-local-mesh.ts";
import { defineCommand, formatUsageError } from "./command.ts";

export interface ScrapeTarget {
  /** HOST:PORT */
  readonly address: string;
  /** The process name (`reviews-v2-sidecar`, `gateway`, `control-plane-1`). */
  readonly name: string;
  readonly kind: "proxy" | "control-plane";
}

/** A process of the local mesh: its name, entry and readiness URL (from up.json or the plan). */
export interface MeshProcess {
  readonly name: string;
  readonly readyUrl: string;
  readonly entry?: string;
}

/** Proxies are probed on their stats port (/healthz/ready), control planes on their admin port (/ready). */
export function scrapeTargetsOf(processes: readonly MeshProcess[]): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  for (const p of processes) {
    let url: URL;
    try {
      url = new URL(p.readyUrl);
    } catch {
      continue;
    }
    const isProxy = p.entry === "apps/sidecar/src/main.ts" || url.pathname === "/healthz/ready";
    const isControlPlane = p.entry === "apps/control-plane/src/main.ts" || p.name.startsWith("control-plane");
    if (isProxy) out.push({ address: url.host, name: p.name, kind: "proxy" });
    else if (isControlPlane) out.push({ address: url.host, name: p.name, kind: "control-plane" });
  }
  return out;
}

const quote = (s: string): string => JSON.stringify(s);

/** Prometheus YAML (JSON-quoted strings are valid YAML) scraping `targets` every `intervalSeconds`. */
export function formatPrometheusConfig(targets: readonly ScrapeTarget[], intervalSeconds: number): string {
  const job = (name: string, path: string, kind: ScrapeTarget["kind"]): string[] => {
    const chosen = targets.filter((t) => t.kind === kind);
    if (chosen.length === 0) return [];
    return [
      `  - job_name: ${name}`,
      `    metrics_path: ${path}`,
      "    static_configs:",
      ...chosen.flatMap((t) => [`      - targets: [${quote(t.address)}]`, `        labels: { meshwork_process: ${quote(t.name)} }`]),
    ];
  };
  return [
    "# Prometheus config for the local Meshwork mesh (meshctl prometheus-config).",
    "# Sidecars and the gateway serve Istio's metrics (istio_requests_total, ...) on /stats/prometheus.",
    "global:",
    `  scrape_interval: ${intervalSeconds}s`,
    // Prometheus' default timeout (10 s) may not exceed the interval; a proxy with many series needs most of it.
    `  scrape_timeout: ${intervalSeconds}s`,
    `  evaluation_interval: ${intervalSeconds}s`,
    "scrape_configs:",
    ...job("envoy-stats", "/stats/prometheus", "proxy"),
    ...job("meshwork-control-plane", "/metrics", "control-plane"),
    "",
  ].join("\n");
}

export const prometheusConfigCommand = defineCommand({
  name: "prometheus-config",
  summary: "Print a Prometheus scrape config for the local mesh's proxies and control planes.",
  usage: "meshctl prometheus-config [--targets HOST:PORT,...] [--state-dir DIR] [--scrape-interval SECONDS]",
  description: [
    "Prints prometheus.yml scraping Istio's standard metrics from every sidecar and the gateway (job envoy-stats,",
    "/stats/prometheus) and the control planes' /metrics. The targets are --targets when given, else those of the",
    "mesh `meshctl up` runs from --state-dir (its up.json), else those `meshctl up` would start with the default topology.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl prometheus-config > prometheus.yml && prometheus --config.file=prometheus.yml", "  meshctl prometheus-config --targets 127.0.0.1:15020,127.0.0.1:15120", "", "Exit codes: 0 printed, 1 no targets, 2 usage error."].join("\n"),
  settings: defineSettings({
    targets: { type: "list", env: "MESHWORK_PROMETHEUS_TARGETS", valueName: "HOST:PORT", description: "Proxy stats endpoints to scrape (their --stats-port)." },
    stateDir: { type: "string", default: ".meshwork", env: "MESHWORK_STATE_DIR", valueName: "DIR", description: "State dir of the local mesh (its up.json names the running processes)." },
    scrapeInterval: { type: "number", integer: true, default: 5, env: "MESHWORK_SCRAPE_INTERVAL", valueName: "SECONDS", description: "scrape_interval, scrape_timeout and evaluation_interval." },
  }),
  run: async (settings, context) => {
    if (settings.scrapeInterval <= 0) {
      context.io.writeErr(formatUsageError("prometheus-config", `--scrape-interval must be a positive number of seconds, got ${settings.scrapeInterval}`));
      return 2;
    }
    let targets: ScrapeTarget[];
    if (settings.targets.length > 0) {
      const bad = settings.targets.find((t) => !/^[^\s/]+:\d+$/.test(t));
      if (bad !== undefined) {
        context.io.writeErr(formatUsageError("prometheus-config", `--targets "${bad}" is not HOST:PORT (a sidecar's stats port, e.g. 127.0.0.1:15020)`));
        return 2;
      }
      targets = settings.targets.map((address) => ({ address, name: address, kind: "proxy" }));
    } else {
      const statePath = join(settings.stateDir, "up.json");
      const state = await context.io.readTextFile(statePath);
      let processes: MeshProcess[] | undefined;
      if (state.ok) {
        try {
          processes = (JSON.parse(state.source.text) as { processes?: MeshProcess[] }).processes;
        } catch {
          processes = undefined;
        }
      }
      targets = scrapeTargetsOf(processes ?? planLocalMesh(defaultTopology, settings.stateDir).processes);
    }
    if (!targets.some((t) => t.kind === "proxy")) {
      context.io.writeErr(formatUsageError("prometheus-config", "no proxy to scrape; pass --targets HOST:PORT,... or start the mesh with meshctl up"));
      return 1;
    }
    context.io.writeOut(formatPrometheusConfig(targets, settings.scrapeInterval));
    return 0;
  },
});
