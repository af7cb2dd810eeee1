import { describe, expect, it } from "vitest";
import type { PreparedQueryDefinition, PreparedQueryService } from "../registry-contract.ts";
import { compileQueryTemplate, parseInterpolation } from "./compile-query-template.ts";

function template(name: string, service: Partial<PreparedQueryService>, options: { regexp?: string; removeEmptyTags?: boolean; type?: string } = {}): PreparedQueryDefinition {
  return {
    id: "8f246b77-f3e1-ff88-5b48-8ec93abf3e05",
    name,
    session: "",
    token: "",
    template: { type: (options.type ?? "name_prefix_match") as "name_prefix_match", regexp: options.regexp ?? "", removeEmptyTags: options.removeEmptyTags ?? false },
    service: { service: "", failover: { nearestN: 0, datacenters: [] }, onlyPassing: false, ignoreCheckIds: [], near: "", tags: [], nodeMeta: {}, serviceMeta: {}, ...service },
    dns: { ttl: "" },
  };
}

function render(query: PreparedQueryDefinition, name: string): PreparedQueryService {
  const compiled = compileQueryTemplate(query);
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.template.render(name).service;
}

describe("compileQueryTemplate", () => {
  it("interpolates name.full, name.prefix, name.suffix and match(N) into every string of Service (Consul's geo-db example)", () => {
    const query = template(
      "geo-db",
      {
        service: "mysql-${match(1)}",
        tags: ["${match(2)}", "${ match( 9 ) }"],
        near: "${name.full}",
        failover: { nearestN: 2, datacenters: ["dc-${name.suffix}"] },
        ignoreCheckIds: ["${name.prefix}-check"],
        nodeMeta: { role: "${match(1)}" },
        serviceMeta: { full: "${name.full}" },
      },
      { regexp: "^geo-db-(.*?)-([^\\-]+?)$" },
    );
    expect(render(query, "geo-db-customer-primary")).toEqual({
      service: "mysql-customer",
      tags: ["primary", ""],
      near: "geo-db-customer-primary",
      failover: { nearestN: 2, datacenters: ["dc--customer-primary"] },
      onlyPassing: false,
      ignoreCheckIds: ["geo-db-check"],
      nodeMeta: { role: "customer" },
      serviceMeta: { full: "geo-db-customer-primary" },
    });
  });

  it("gives \"\" for match(N) when the regexp does not match or has no group N, and without a regexp", () => {
    expect(render(template("geo-db", { service: "x${match(1)}y" }, { regexp: "^nope-(.*)$" }), "geo-db-a").service).toBe("xy");
    expect(render(template("geo-db", { service: "x${match(1)}y" }), "geo-db-a").service).toBe("xy");
    expect(render(template("geo-db", { service: "${match(0)}" }, { regexp: "db-(a)" }), "geo-db-a").service).toBe("db-a");
  });

  it("removes empty tags only with RemoveEmptyTags", () => {
    const tags = ["${match(1)}", "fixed"];
    expect(render(template("web", { service: "web", tags }, { regexp: "^web-(.*)$", removeEmptyTags: true }), "web").tags).toEqual(["fixed"]);
    expect(render(template("web", { service: "web", tags }, { regexp: "^web-(.*)$" }), "web").tags).toEqual(["", "fixed"]);
    expect(render(template("web", { service: "web", tags }, { regexp: "^web-(.*)$", removeEmptyTags: true }), "web-canary").tags).toEqual(["canary", "fixed"]);
  });

  it("keeps the escape $${ as a literal ${ and leaves the template's own query unchanged", () => {
    const query = template("", { service: "$${name.full}-${name.full}" });
    expect(render(query, "web").service).toBe("${name.full}-web");
    expect(query.service.service).toBe("$${name.full}-${name.full}");
  });

  it("refuses another template type, a bad regexp and expressions it does not know, naming the field", () => {
    expect(compileQueryTemplate(template("x", { service: "web" }, { type: "regex" }))).toEqual({ ok: false, message: `Bad Template.Type 'regex': use "name_prefix_match"` });
    expect(compileQueryTemplate(template("x", { service: "web" }, { regexp: "(" }))).toMatchObject({ ok: false, message: expect.stringMatching(/^Bad Regexp: error parsing regexp: /) });
    expect(compileQueryTemplate(template("x", { service: "web", tags: ["ok", "${agent.segment}"] }))).toEqual({
      ok: false,
      message: "Bad format '${agent.segment}' in Service.Tags[1]: unknown expression ${agent.segment}: use ${name.full}, ${name.prefix}, ${name.suffix} or ${match(N)}",
    });
    expect(compileQueryTemplate(template("x", { service: "${name.full" }))).toMatchObject({ ok: false, message: expect.stringContaining("Bad format '${name.full' in Service.Service: unterminated ${") });
  });
});

describe("parseInterpolation", () => {
  it("splits literals and expressions; a lone $ is text", () => {
    expect(parseInterpolation("a$b${name.full}c")).toEqual([
      { kind: "text", text: "a$b" },
      { kind: "name", which: "full" },
      { kind: "text", text: "c" },
    ]);
    expect(parseInterpolation("")).toEqual([]);
  });
});
