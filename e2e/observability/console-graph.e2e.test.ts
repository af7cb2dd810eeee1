// The console on a real control plane whose graph comes from real sidecars' Istio metrics:
// bookinfo-shaped traffic through six sidecar processes, scraped by the control plane; the graph
// has productpage → details, productpage → reviews v1/v2/v3, reviews v2/v3 → ratings, and
// ratings turns failing when it answers 503. Its API, then the page in headless Chromium (Debian's
// chromium driven by playwright-core; screenshots in test-output/observability/).
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, workspaceRoot } from "./support/processes.ts";
import { startMiniBookinfo, type MiniBookinfo } from "./support/mini-bookinfo.ts";
import { startConsoleControlPlane, type ConsoleControlPlane } from "./support/start-console-control-plane.ts";

interface Graph {
  nodes: { id: string; kind: string; health: string }[];
  edges: { source: string; target: string; requestsPerSecond: number; errorRate: number; p99Ms: number | null; health: string }[];
  errors: string[];
}

// Scraping a sidecar's /stats/prometheus (≈ 0.4 MB for productpage) blocks its event loop long
// enough that it sheds load (503 OM) for about a second afterwards, so visits wait for that to
// pass (mesh.settle) after the console has scraped.
let mesh: MiniBookinfo;
let controlPlane: ConsoleControlPlane;

beforeAll(async () => {
  mesh = await startMiniBookinfo();
  controlPlane = await startConsoleControlPlane({ scrape: mesh.workloads.map((w) => w.statsUrl) });
  await mesh.settle();
  // The console's first look: later windows count from here, not from the sidecars' start.
  await graph();
}, 180_000);

afterAll(async () => {
  await controlPlane?.stop();
  await mesh?.stop();
});

async function graph(): Promise<Graph> {
  const response = await fetch(`${controlPlane.admin}/console/api/graph?window=60`);
  expect(response.status).toBe(200);
  return (await response.json()) as Graph;
}

const edge = (g: Graph, source: string, target: string) => g.edges.find((e) => e.source === source && e.target === target);

describe("console graph from real sidecar metrics", () => {
  it("shows bookinfo's services, versions and edges with rates and p99", async () => {
    // A scrape stalls each sidecar's event loop long enough for it to shed load for about a second (reported to the lead).
    await mesh.settle();
    for (let i = 0; i < 30; i++) {
      const page = await mesh.visit();
      expect(`${page.status} ${page.body}`).toMatch(/^200 /);
    }
    const g = await eventually("the graph to have reviews-v3 → ratings", async () => {
      const current = await graph();
      return edge(current, "wl:default/reviews-v3", "svc:default/ratings") !== undefined ? current : undefined;
    });
    expect(g.errors).toEqual([]);
    for (const [source, target] of [
      ["wl:default/productpage-v1", "svc:default/details"],
      ["wl:default/productpage-v1", "svc:default/reviews"],
      ["svc:default/reviews", "wl:default/reviews-v1"],
      ["svc:default/reviews", "wl:default/reviews-v2"],
      ["svc:default/reviews", "wl:default/reviews-v3"],
      ["wl:default/reviews-v2", "svc:default/ratings"],
      ["svc:default/ratings", "wl:default/ratings-v1"],
    ] as const) {
      // Not failing: a sidecar may shed the odd request (503 OM) when the machine is busy, which Kiali's thresholds show as degraded.
      expect(edge(g, source, target)?.errorRate, `${source} → ${target}`).toBeLessThan(0.1);
    }
    expect(edge(g, "wl:default/reviews-v1", "svc:default/ratings")).toBeUndefined();
    expect(edge(g, "wl:default/productpage-v1", "svc:default/reviews")?.requestsPerSecond).toBeGreaterThan(0);
    expect(edge(g, "wl:default/productpage-v1", "svc:default/reviews")?.p99Ms).toBeGreaterThan(0);
    expect(g.nodes.find((n) => n.id === "app:default/reviews")?.kind).toBe("app");
  });

  it("turns ratings red when it fails", async () => {
    await mesh.settle();
    mesh.setRatingsFailing(true);
    try {
      for (let i = 0; i < 30; i++) await mesh.visit();
      let last: Graph | undefined;
      const g = await eventually("ratings to turn failing", async () => {
        last = await graph();
        return last.nodes.find((n) => n.id === "wl:default/ratings-v1")?.health === "failing" ? last : undefined;
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}; the last graph: ${JSON.stringify(last?.edges)}`);
      });
      expect(edge(g, "wl:default/reviews-v2", "svc:default/ratings")?.health).toBe("failing");
      expect(edge(g, "svc:default/details", "wl:default/details-v1")?.health).not.toBe("failing");
    } finally {
      mesh.setRatingsFailing(false);
    }
  });

  it("shows the reviews service page with its VirtualService and DestinationRule", async () => {
    const response = await fetch(`${controlPlane.admin}/console/api/services/default/reviews?window=60`);
    const body = (await response.json()) as { config: { kind: string }[]; traffic: { outbound: { target: string }[] } };
    expect(body.config.map((c) => c.kind).sort()).toEqual(["DestinationRule", "VirtualService"]);
    expect(body.traffic.outbound.map((e) => e.target).sort()).toEqual(["wl:default/reviews-v1", "wl:default/reviews-v2", "wl:default/reviews-v3"]);
  });

  it("draws the graph in headless Chromium, with ratings red, and every page renders without errors", async () => {
    const executablePath = "/usr/bin/chromium";
    if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: install Debian's chromium package (apt-get install chromium) to run the browser test`);
    const artifacts = join(workspaceRoot, "test-output", "observability");
    await mkdir(artifacts, { recursive: true });
    await mesh.settle();
    mesh.setRatingsFailing(true);
    for (let i = 0; i < 30; i++) await mesh.visit();
    const browser = await chromium.launch({ executablePath, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console: ${message.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`page: ${error.message}`));
      await page.goto(`${controlPlane.admin}/console/`);
      // Browser-side code as strings: this file is type-checked without the DOM library.
      await page.waitForFunction('Number(document.getElementById("graph")?.dataset.edges ?? "0") > 0', undefined, { timeout: 30_000 });
      const drawn = (await page.evaluate(`(() => {
        const cy = window.meshworkGraph;
        return {
          nodes: cy.nodes().map((n) => ({ id: n.id(), health: n.data("health"), colour: n.style("background-color") })),
          edges: cy.edges().map((e) => e.data("source") + " -> " + e.data("target")),
        };
      })()`)) as { nodes: { id: string; health: string; colour: string }[]; edges: string[] };
      await page.screenshot({ path: join(artifacts, "console-graph.png"), fullPage: true });
      for (const expected of [
        "wl:default/productpage-v1 -> svc:default/details",
        "wl:default/productpage-v1 -> svc:default/reviews",
        "svc:default/reviews -> wl:default/reviews-v1",
        "svc:default/reviews -> wl:default/reviews-v2",
        "svc:default/reviews -> wl:default/reviews-v3",
        "wl:default/reviews-v2 -> svc:default/ratings",
        "wl:default/reviews-v3 -> svc:default/ratings",
        "svc:default/ratings -> wl:default/ratings-v1",
      ]) {
        expect(drawn.edges).toContain(expected);
      }
      expect(drawn.edges.filter((e) => e.startsWith("wl:default/reviews-v1 ->"))).toEqual([]);
      const ratings = drawn.nodes.find((n) => n.id === "wl:default/ratings-v1");
      expect(ratings).toMatchObject({ health: "failing", colour: "rgb(201,25,11)" });
      const details = drawn.nodes.find((n) => n.id === "wl:default/details-v1");
      expect(details?.health).not.toBe("failing");
      expect(details?.colour).not.toBe("rgb(201,25,11)");
      // The service page and the others render from their APIs.
      for (const [hash, marker] of [
        ["#/service/default/reviews", "VirtualService default/reviews"],
        ["#/services", "Services"],
        ["#/proxies", "Proxy status"],
        ["#/config", "DestinationRule"],
        ["#/identities", "Identities"],
        ["#/registry", "Registry"],
      ] as const) {
        await page.goto(`${controlPlane.admin}/console/${hash}`);
        await page.getByText(marker, { exact: false }).first().waitFor({ timeout: 15_000 });
        // The service page charts its request metrics (from the console's scrapes so far).
        if (hash === "#/service/default/reviews") await page.waitForFunction('["chart-rate", "chart-errors", "chart-p99"].every((id) => Number(document.getElementById(id)?.dataset.points ?? "0") > 0)', undefined, { timeout: 15_000 });
        await page.screenshot({ path: join(artifacts, `console-${hash.slice(2).replace(/\//g, "-")}.png`), fullPage: true });
      }
      expect(problems, problems.join("\n")).toEqual([]);
    } finally {
      await browser.close();
      mesh.setRatingsFailing(false);
    }
  });
});
