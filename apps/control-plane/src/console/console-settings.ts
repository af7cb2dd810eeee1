// The console's flags (spread into controlPlaneSettings) and how the control plane's config
// becomes the console's options: which traffic source, which token.
import type { CatalogInstance } from "@meshwork/proxy-core";
import { defineSettings } from "@meshwork/runtime";
import type { ConfigStore } from "../config-store/config-store.ts";
import type { DiscoveryServer } from "../push/discovery-server.ts";
import type { ConsoleOptions } from "./console-routes.ts";
import { prometheusTrafficSource, scrapeTrafficSource, type TrafficSource } from "./traffic-source.ts";

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
    description: "Read the console's traffic graph from this Prometheus server's HTTP API instead of scraping the proxies.",
  },
  consoleScrape: {
    type: "list",
    env: "MESHWORK_CONSOLE_SCRAPE",
    valueName: "URL",
    description: "Proxy stats endpoints the console scrapes for its graph (http://HOST:PORT/stats/prometheus), besides catalog instances with a meshwork.io/stats-port label.",
  },
});

export interface ConsoleConfig {
  readonly consoleToken?: string | undefined;
  readonly prometheusUrl?: string | undefined;
  readonly consoleScrape?: readonly string[] | undefined;
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
}

/** The console's options from the control plane's config (ControlPlaneConfig + ConsoleConfig). */
export function consoleOptionsFor(
  config: ConsoleConfig & { readonly id: string; readonly bind: string; readonly registryHttp: readonly string[]; readonly trustDomain: string; readonly domainSuffix: string },
  parts: ConsoleParts,
): ConsoleOptions {
  const fetcher = (url: string, init?: RequestInit) => fetch(url, init);
  const traffic: TrafficSource =
    config.prometheusUrl !== undefined && config.prometheusUrl !== ""
      ? prometheusTrafficSource({ url: config.prometheusUrl, fetch: fetcher })
      : scrapeTrafficSource({ targets: () => [...new Set([...(config.consoleScrape ?? []), ...catalogScrapeTargets(parts.store.catalog.instances)])], fetch: fetcher, now: () => Date.now() });
  return {
    ...parts,
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
