import { describe, expect, it } from "vitest";
import { domainAliases, resolveGateway, resolveHost } from "./resolve-host.ts";

describe("resolveHost", () => {
  it("expands short names in the rule's namespace and leaves dotted names and wildcards alone", () => {
    expect(resolveHost("Reviews", "default", "cluster.local")).toBe("reviews.default.svc.cluster.local");
    expect(resolveHost("reviews.prod", "default", "cluster.local")).toBe("reviews.prod");
    expect(resolveHost("*.example.com", "default", "cluster.local")).toBe("*.example.com");
    expect(resolveHost("*", "default", "cluster.local")).toBe("*");
  });
});

describe("domainAliases", () => {
  it("lists the short name only for a proxy in the service's namespace", () => {
    expect(domainAliases("reviews.default.svc.cluster.local", "default", "cluster.local")).toEqual([
      "reviews.default.svc.cluster.local",
      "reviews.default.svc",
      "reviews.default",
      "reviews",
    ]);
    expect(domainAliases("reviews.default.svc.cluster.local", "other", "cluster.local")).not.toContain("reviews");
    expect(domainAliases("api.example.com", "default", "cluster.local")).toEqual(["api.example.com"]);
  });
});

describe("resolveGateway", () => {
  it("qualifies gateway names with the rule's namespace and keeps mesh", () => {
    expect(resolveGateway("mesh", "default")).toBe("mesh");
    expect(resolveGateway("bookinfo-gateway", "default")).toBe("default/bookinfo-gateway");
    expect(resolveGateway("istio-system/ingress", "default")).toBe("istio-system/ingress");
  });
});
