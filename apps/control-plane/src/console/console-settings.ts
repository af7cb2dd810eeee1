// The console's flags (spread into controlPlaneSettings) and how the control plane's config
// becomes the console's options: which traffic source, which token, which peer replicas.
import type { CatalogInstance } from "@meshwork/proxy-core";
import { defineSettings } from "@meshwork/runtime";
import type { ConfigStore } from "../config-store/config-store.ts";
import type { DiscoveryServer } from "../push/discovery-server.ts";
import type { ConsoleOptions } from "./console-routes.ts";
import { PeerReports, peerUrlError } from "./peer-reports.ts";
import type { ProxyReports } from "./proxy-reports.ts";
import { prometheusTrafficSource, reportTrafficSource, scrapeTrafficSource, type TrafficSource } from "./traffic-source.ts";

export const consoleSettings = defineSettings({
  consoleToken: {
    type: "string",
    env: "MESHWORK_CONSOLE_TOKEN",
    valueName: "TOKEN",
    description: "Token the console (/console/ on the admin port) requires as ?token=; required when --bind is not loopback (the console is refused otherwise).",
  },
  prometheusUrl: {
    type: "string",
    env: "MESHWORK_PROMETHEUS_URL",
    valueName: "URL",
    description: "Read the console's traffic graph and charts from this Prometheus server's HTTP API instead of the proxies' reports on the discovery stream.",
  },
  consoleScrape: {
    type: "list",
    env: "MESHWORK_CONSOLE_SCRAPE",
    valueName: "URL",
    description:
      "Scrape these proxy stats endpoints (http://HOST:PORT/stats/prometheus), and catalog instances with a meshwork.io/stats-port label, for the console's graph instead of the proxies' reports on the discovery stream.",
  },
  consolePeers: {
    type: "list",
    env: "MESHWORK_CONSOLE_PEERS",
    valueName: "URL",
    description:
      "The other control-plane replicas' admin base URLs (http://HOST:PORT): the console merges their proxies' reports and SVIDs (GET /console/api/reports, with this replica's --console-token) with its own, so each replica's console shows the whole mesh.",
  },
});

export interface ConsoleConfig {
  readonly consoleToken?: string | undefined;
  readonly prometheusUrl?: string | undefined;
  readonly consoleScrape?: readonly string[] | undefined;
  readonly consolePeers?: readonly string[] | undefined;
}

/** The first bad console flag, as a sentence naming it and the fix; undefined when all are usable. */
export function consoleConfigError(config: ConsoleConfig): string | undefined {
  for (const url of config.consolePeers ?? []) {
    const error = peerUrlError(url);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** Catalog meta keys naming a workload's stats port (ours, then the Prometheus annotation's name). */
export const statsPortKeys = ["meshwork.io/stats-port", "prometheus.io/port"] as const;

/** `http://ADDRESS:PORT/stats/prometheus` of every catalog instance that names its stats port. */
export function catalogScrapeTargets(instances: readonly CatalogInstance[]): string[] {
  const out = new Set<string>();
  for (const i of instances) {
    const port = statsPortKeys.map((k) => i.meta[k]).find((v) => v !== undefined && /^\d+$/.test(v));
    if (port === undefined) continue;
    const host = i.address || i.nodeAddress;
    out.add(`http://${host.includes(":") ? `[${host}]` : host}:${port}/stats/prometheus`);
  }
  return [...out];
}

export interface ConsoleParts {
  readonly store: ConfigStore;
  readonly discovery: DiscoveryServer;
  /** What proxies report on the discovery stream (the default traffic source, and their SVIDs). */
  readonly reports: ProxyReports;
}

/** The console's options from the control plane's config (ControlPlaneConfig + ConsoleConfig). */
export function consoleOptionsFor(
  config: ConsoleConfig & { readonly id: string; readonly bind: string; readonly registryHttp: readonly string[]; readonly trustDomain: string; readonly domainSuffix: string },
  parts: ConsoleParts,
): ConsoleOptions {
  const fetcher = (url: string, init?: RequestInit) => fetch(url, init);
  const now = (): number => Date.now();
  const peers = config.consolePeers !== undefined && config.consolePeers.length > 0 ? new PeerReports({ peers: config.consolePeers, token: config.consoleToken, fetch: fetcher, now }) : undefined;
  const traffic: TrafficSource =
    config.prometheusUrl !== undefined && config.prometheusUrl !== ""
      ? prometheusTrafficSource({ url: config.prometheusUrl, fetch: fetcher, now })
      : config.consoleScrape !== undefined && config.consoleScrape.length > 0
        ? scrapeTrafficSource({ targets: () => [...new Set([...(config.consoleScrape ?? []), ...catalogScrapeTargets(parts.store.catalog.instances)])], fetch: fetcher, now })
        : reportTrafficSource(parts.reports, now, peers);
  return {
    store: parts.store,
    discovery: parts.discovery,
    svidOf: (proxyId) => parts.reports.svidOf(proxyId),
    reports: parts.reports,
    ...(peers !== undefined ? { peers } : {}),
    traffic,
    registryHttp: config.registryHttp,
    fetch: fetcher,
    now: () => Date.now(),
    controlPlaneId: config.id,
    trustDomain: config.trustDomain,
    domainSuffix: config.domainSuffix,
    bind: config.bind,
    token: config.consoleToken,
  };
}
