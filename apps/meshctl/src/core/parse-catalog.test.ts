import { describe, expect, it } from "vitest";
import { parseCatalog } from "./parse-catalog.ts";

describe("parseCatalog", () => {
  it("reads services with ports and instances from YAML", () => {
    const text = [
      "services:",
      "- name: reviews",
      "  namespace: default",
      "  hostname: reviews.default.svc.cluster.local",
      "  ports: [{ number: 9080, name: http, protocol: HTTP }]",
      "  instances:",
      "  - { labels: { app: reviews, version: v1 }, address: 10.0.0.1 }",
      "  - { address: 10.0.0.2 }",
    ].join("\n");
    expect(parseCatalog(text)).toEqual({
      ok: true,
      catalog: {
        services: [
          {
            name: "reviews",
            namespace: "default",
            hostname: "reviews.default.svc.cluster.local",
            ports: [{ number: 9080, name: "http", protocol: "HTTP" }],
            instances: [
              { labels: { app: "reviews", version: "v1" }, address: "10.0.0.1" },
              { labels: {}, address: "10.0.0.2" },
            ],
          },
        ],
      },
    });
  });

  it("reads JSON", () => {
    expect(parseCatalog('{"services":[{"name":"ratings","namespace":"prod"}]}')).toEqual({
      ok: true,
      catalog: { services: [{ name: "ratings", namespace: "prod" }] },
    });
  });

  it("names the field path and what was expected when the shape is wrong", () => {
    expect(parseCatalog("services: {}")).toEqual({ ok: false, message: "services: expected a list, got a mapping" });
    expect(parseCatalog("services:\n- name: a\n")).toEqual({ ok: false, message: "services[0].namespace: expected a non-empty string, got nothing" });
    expect(parseCatalog("services:\n- {name: a, namespace: b, ports: [{number: 0}]}")).toEqual({
      ok: false,
      message: "services[0].ports[0].number: expected a port number from 1 to 65535, got 0",
    });
    expect(parseCatalog("services:\n- {name: a, namespace: b, instances: [{labels: {app: 3}}]}")).toEqual({
      ok: false,
      message: "services[0].instances[0].labels.app: expected a string, got 3",
    });
    expect(parseCatalog("- a\n- b")).toEqual({ ok: false, message: "the file: expected a mapping, got a list" });
  });

  it("reports YAML syntax errors", () => {
    const result = parseCatalog("services: [unclosed");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/^not valid YAML or JSON: /);
  });
});
