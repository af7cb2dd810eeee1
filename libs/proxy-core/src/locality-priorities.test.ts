import { describe, expect, it } from "vitest";
import { makeEndpoints } from "../tests/endpoints.ts";
import { assignLocalityPriorities, computePriorityLoad } from "./locality-priorities.ts";

const proxyless = { region: "", zone: "", subZone: "" };

describe("assignLocalityPriorities", () => {
  it("ranks subzone, zone, region, failover region, rest — and closes gaps", () => {
    const localities = [
      { region: "eu", zone: "eu-1", subZone: "a" },
      { region: "eu", zone: "eu-1", subZone: "b" },
      { region: "eu", zone: "eu-2", subZone: "a" },
      { region: "us", zone: "us-1", subZone: "a" },
      { region: "ap", zone: "ap-1", subZone: "a" },
    ];
    const endpoints = makeEndpoints(5, (i) => ({ locality: localities[i] ?? proxyless }));
    const proxy = { region: "eu", zone: "eu-1", subZone: "a" };
    expect(assignLocalityPriorities(endpoints, proxy, [{ from: "eu", to: "us" }])).toEqual([0, 1, 2, 3, 4]);
    expect(assignLocalityPriorities(endpoints, proxy)).toEqual([0, 1, 2, 3, 3]);
    expect(assignLocalityPriorities(endpoints.slice(2), proxy)).toEqual([0, 1, 1]);
  });
});

describe("computePriorityLoad (Envoy priority levels, overprovisioning 1.4)", () => {
  it("keeps all traffic in a healthy priority 0", () => {
    expect(computePriorityLoad([4, 4], [4, 4])).toEqual([100, 0]);
  });

  it("spills the unhealthy share beyond 1/1.4 to the next priority", () => {
    const [p0, p1] = computePriorityLoad([2, 4], [4, 4]);
    expect(p0).toBeCloseTo(70);
    expect(p1).toBeCloseTo(30);
    expect(computePriorityLoad([0, 4], [4, 4])).toEqual([0, 100]);
  });

  it("scales loads up to 100 % when total health is short, and sends everything to P0 when nothing is healthy", () => {
    const [p0, p1] = computePriorityLoad([1, 1], [5, 5]); // health 28 + 28 = 56
    expect(p0).toBeCloseTo(50);
    expect(p1).toBeCloseTo(50);
    expect(computePriorityLoad([0, 0], [3, 3])).toEqual([100, 0]);
  });
});
