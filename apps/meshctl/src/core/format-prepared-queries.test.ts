import { describe, expect, it } from "vitest";
import { formatPreparedQueries, formatQueryExecution, parsePreparedQueries, parseQueryExecution } from "./format-prepared-queries.ts";

describe("prepared query tables", () => {
  it("lists queries from GET /v1/query", () => {
    const rows = parsePreparedQueries([
      { ID: "8f246b77-f3e1-4f88-9b48-8ec93abf3e05", Name: "web-stable", Session: "", Template: { Type: "" }, Service: { Service: "web", Tags: ["primary", "!canary"], OnlyPassing: true }, DNS: { TTL: "10s" } },
      { ID: "9f246b77-f3e1-4f88-9b48-8ec93abf3e05", Name: "", Session: "s", Template: { Type: "name_prefix_match" }, Service: { Service: "${name.full}", Tags: null }, DNS: { TTL: "" } },
    ]);
    expect(rows).toBeDefined();
    expect(formatPreparedQueries(rows ?? [])).toBe(
      [
        "ID                                    NAME        SERVICE       KIND      TAGS             ONLY-PASSING  DNS-TTL",
        "8f246b77-f3e1-4f88-9b48-8ec93abf3e05  web-stable  web           static    primary,!canary  yes           10s",
        "9f246b77-f3e1-4f88-9b48-8ec93abf3e05  -           ${name.full}  template  -                no            -",
        "",
      ].join("\n"),
    );
    expect(formatPreparedQueries([])).toBe("No prepared queries.\n");
    expect(parsePreparedQueries({ nope: true })).toBeUndefined();
    expect(parsePreparedQueries([{ ID: "x" }])).toBeUndefined();
  });

  it("shows an execution's instances, the service address before the node's", () => {
    const view = parseQueryExecution({
      Service: "web",
      Nodes: [
        { Node: { Node: "app-1", Address: "10.0.0.1" }, Service: { ID: "web-1", Address: "", Port: 8080, Tags: ["primary"] }, Checks: [] },
        { Node: { Node: "app-2", Address: "10.0.0.2" }, Service: { ID: "web-2", Address: "192.168.0.2", Port: 80, Tags: [] }, Checks: [] },
      ],
      DNS: { TTL: "" },
      Datacenter: "dc1",
      Failovers: 0,
    });
    expect(view === undefined ? "" : formatQueryExecution(view)).toBe(
      [
        "Service web: 2 instances (datacenter dc1, failovers 0, DNS TTL default)",
        "NODE   ADDRESS      PORT  SERVICE-ID  TAGS",
        "app-1  10.0.0.1     8080  web-1       primary",
        "app-2  192.168.0.2  80    web-2       -",
        "",
      ].join("\n"),
    );
    expect(parseQueryExecution({ Service: "web" })).toBeUndefined();
  });
});
