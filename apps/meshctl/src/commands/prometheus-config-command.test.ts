import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCommand } from "../../tests/support/run-command.ts";
import { formatPrometheusConfig, prometheusConfigCommand, scrapeTargetsOf } from "./prometheus-config-command.ts";

interface PromConfig {
  global: { scrape_interval: string };
  scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[]; labels: Record<string, string> }[] }[];
}

describe("prometheus-config", () => {
  it("scrapes --targets on /stats/prometheus as job envoy-stats", async () => {
    const run = await runCommand(prometheusConfigCommand, ["--targets", "127.0.0.1:15020,127.0.0.1:15120", "--scrape-interval", "2"]);
    expect(run).toMatchObject({ code: 0, err: "" });
    const config = parse(run.out) as PromConfig;
    expect(config.global.scrape_interval).toBe("2s");
    expect(config.scrape_configs).toEqual([
      {
        job_name: "envoy-stats",
        metrics_path: "/stats/prometheus",
        static_configs: [
          { targets: ["127.0.0.1:15020"], labels: { meshwork_process: "127.0.0.1:15020" } },
          { targets: ["127.0.0.1:15120"], labels: { meshwork_process: "127.0.0.1:15120" } },
        ],
      },
    ]);
  });

  it("takes the proxies and control planes of the running mesh from up.json", async () => {
    const upJson = JSON.stringify({
      pid: 1,
      processes: [
        { name: "registry-1", pid: 2, readyUrl: "http://127.0.0.1:20003/readyz" },
        { name: "control-plane-1", pid: 3, readyUrl: "http://127.0.0.1:20111/ready" },
        { name: "gateway", pid: 4, readyUrl: "http://127.0.0.1:20103/healthz/ready" },
        { name: "reviews-v2-sidecar", pid: 5, readyUrl: "http://127.0.0.1:20234/healthz/ready" },
      ],
      urls: [],
    });
    const run = await runCommand(prometheusConfigCommand, ["--state-dir", "/mesh"], { files: [{ path: "/mesh/up.json", text: upJson }] });
    expect(run.code).toBe(0);
    const config = parse(run.out) as PromConfig;
    expect(config.scrape_configs.map((j) => [j.job_name, j.static_configs.map((s) => s.targets[0])])).toEqual([
      ["envoy-stats", ["127.0.0.1:20103", "127.0.0.1:20234"]],
      ["meshwork-control-plane", ["127.0.0.1:20111"]],
    ]);
  });

  it("falls back to the default topology's plan, and refuses a target that is not HOST:PORT", async () => {
    const planned = await runCommand(prometheusConfigCommand, ["--state-dir", "/nowhere"]);
    expect(planned.code).toBe(0);
    expect((parse(planned.out) as PromConfig).scrape_configs[0]?.static_configs.map((s) => s.labels["meshwork_process"])).toContain("productpage-v1-sidecar");
    const bad = await runCommand(prometheusConfigCommand, ["--targets", "http://x:1/stats"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("is not HOST:PORT");
  });

  it("ignores processes that are neither proxies nor control planes", () => {
    expect(scrapeTargetsOf([{ name: "ca", readyUrl: "http://127.0.0.1:1/readyz" }, { name: "bad", readyUrl: "not a url" }])).toEqual([]);
    expect(formatPrometheusConfig([], 5)).not.toContain("job_name");
  });
});
