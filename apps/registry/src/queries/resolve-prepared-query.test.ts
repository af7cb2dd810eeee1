import { describe, expect, it } from "vitest";
import type { StoredPreparedQuery } from "../registry-contract.ts";
import { resolvePreparedQuery } from "./resolve-prepared-query.ts";

function query(id: string, name: string, service: string, template = false): StoredPreparedQuery {
  return {
    id,
    name,
    session: "",
    token: "",
    template: { type: template ? "name_prefix_match" : "", regexp: "", removeEmptyTags: false },
    service: { service, failover: { nearestN: 0, datacenters: [] }, onlyPassing: false, ignoreCheckIds: [], near: "", tags: [], nodeMeta: {}, serviceMeta: {} },
    dns: { ttl: "" },
    createIndex: 1,
    modifyIndex: 1,
  };
}

const STATIC = query("aaaaaaaa-0000-4000-8000-000000000001", "web-Query", "web");
const CATCH_ALL = query("aaaaaaaa-0000-4000-8000-000000000002", "", "${name.full}", true);
const GEO = query("aaaaaaaa-0000-4000-8000-000000000003", "geo", "geo-${name.suffix}", true);
const GEO_DB = query("aaaaaaaa-0000-4000-8000-000000000004", "geo-db", "db${name.suffix}", true);
const queries = [STATIC, CATCH_ALL, GEO, GEO_DB];

const serviceOf = (idOrName: string): string => {
  const resolved = resolvePreparedQuery(queries, idOrName);
  if (!resolved.ok) throw new Error(resolved.message);
  return resolved.query.service.service;
};

describe("resolvePreparedQuery", () => {
  it("finds a static query by id and by name without case", () => {
    expect(resolvePreparedQuery(queries, STATIC.id)).toEqual({ ok: true, query: STATIC });
    expect(resolvePreparedQuery(queries, "WEB-query")).toEqual({ ok: true, query: STATIC });
  });

  it("takes the template whose name is the longest prefix, and renders it for the name asked", () => {
    expect(serviceOf("geo-db-eu")).toBe("db-eu");
    expect(serviceOf("geo-cache")).toBe("geo--cache");
    expect(serviceOf("GEO-DB-x")).toBe("dbGEO-DB-x");
    expect(serviceOf("anything")).toBe("anything");
  });

  it("prefers an exact name over a template prefix", () => {
    expect(serviceOf("web-query")).toBe("web");
  });

  it("refuses a template by id and answers not found without a catch-all", () => {
    expect(resolvePreparedQuery(queries, GEO.id)).toEqual({ ok: false, reason: "template-by-id", message: expect.stringMatching(/^prepared query templates can only be resolved up by name, not by ID: /) });
    expect(resolvePreparedQuery([STATIC, GEO], "nope")).toEqual({ ok: false, reason: "not-found", message: "Query not found" });
    expect(resolvePreparedQuery([STATIC], "aaaaaaaa-0000-4000-8000-00000000000f")).toMatchObject({ ok: false, reason: "not-found" });
    expect(resolvePreparedQuery(queries, "")).toMatchObject({ ok: false, reason: "not-found" });
  });
});
