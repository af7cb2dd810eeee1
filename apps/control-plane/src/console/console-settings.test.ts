import { describe, expect, it } from "vitest";
import { catalogScrapeTargets } from "./console-settings.ts";

const instance = (meta: Record<string, string>, address = "10.0.0.7") => ({ node: "n", nodeAddress: "10.0.0.1", serviceId: "s", serviceName: "reviews", address, port: 9080, tags: [], meta, health: "passing" });

describe("catalogScrapeTargets", () => {
  it("scrapes instances that name their stats port, once each, IPv6 in brackets", () => {
    expect(
      catalogScrapeTargets([
        instance({ "meshwork.io/stats-port": "15020" }),
        instance({ "meshwork.io/stats-port": "15020" }),
        instance({ "prometheus.io/port": "15090" }, ""),
        instance({ "prometheus.io/port": "15090" }, "fd00::1"),
        instance({ "meshwork.io/stats-port": "not-a-port" }),
        instance({}),
      ]),
    ).toEqual(["http://10.0.0.7:15020/stats/prometheus", "http://10.0.0.1:15090/stats/prometheus", "http://[fd00::1]:15090/stats/prometheus"]);
  });
});
