import { describe, expect, it } from "vitest";
import { parsePreparedQuery } from "./parse-prepared-query.ts";

const ID = "8f246b77-f3e1-4f88-9b48-8ec93abf3e05";
const parse = (body: unknown, create = true) => parsePreparedQuery(body, { id: ID, create });

describe("parsePreparedQuery", () => {
  it("reads Consul's sample payload (field names in any case, snake_case too)", () => {
    const query = parse({
      Name: "my-query",
      Session: "adf4238a-882b-9ddc-4a9d-5b6758e4159e",
      Token: "",
      Service: {
        Service: "redis",
        Failover: { NearestN: 3, Datacenters: ["dc1", "dc2"] },
        Near: "node1",
        OnlyPassing: false,
        Tags: ["primary", "!experimental"],
        NodeMeta: { instance_type: "m3.large" },
        service_meta: { environment: "production" },
        ignorecheckids: ["serfHealth"],
      },
      DNS: { TTL: "10s" },
    });
    expect(query).toEqual({
      id: ID,
      name: "my-query",
      session: "adf4238a-882b-9ddc-4a9d-5b6758e4159e",
      token: "",
      template: { type: "", regexp: "", removeEmptyTags: false },
      service: {
        service: "redis",
        failover: { nearestN: 3, datacenters: ["dc1", "dc2"] },
        onlyPassing: false,
        ignoreCheckIds: ["serfHealth"],
        near: "node1",
        tags: ["primary", "!experimental"],
        nodeMeta: { instance_type: "m3.large" },
        serviceMeta: { environment: "production" },
      },
      dns: { ttl: "10s" },
    });
  });

  it("reads a template", () => {
    expect(parse({ Name: "geo-db", Template: { Type: "name_prefix_match", Regexp: "^geo-db-(.*)$", RemoveEmptyTags: true }, Service: { Service: "${match(1)}" } }).template).toEqual({
      type: "name_prefix_match",
      regexp: "^geo-db-(.*)$",
      removeEmptyTags: true,
    });
  });

  it("refuses with Consul's 500 and text what Consul's parseQuery refuses", () => {
    const refusal = (body: unknown, create = true) => {
      try {
        parse(body, create);
      } catch (error) {
        return [(error as { status: number }).status, (error as Error).message];
      }
      return undefined;
    };
    expect(refusal({ Service: { Service: "web" } })).toEqual([500, expect.stringMatching(/^Invalid prepared query: Must be bound to a session/)]);
    expect(refusal({ Name: "q" })).toEqual([500, expect.stringMatching(/^Invalid prepared query: Must provide a Service name to query/)]);
    expect(refusal({ Name: "q", Token: "<hidden>", Service: { Service: "web" } })).toEqual([500, expect.stringContaining("Bad Token '<hidden>'")]);
    expect(refusal({ Name: "q", Service: { Service: "web", Failover: { NearestN: -1 } } })).toEqual([500, "Invalid prepared query: Bad NearestN '-1', must be >= 0"]);
    expect(refusal({ Name: "q", Service: { Service: "web" }, DNS: { TTL: "soon" } })).toEqual([500, expect.stringMatching(/^Invalid prepared query: Bad DNS TTL 'soon'/)]);
    expect(refusal({ Name: "q", Service: { Service: "web" }, DNS: { TTL: "10" } })).toEqual([500, expect.stringContaining("missing unit")]);
    expect(refusal({ Name: "q", Service: { Service: "web" }, DNS: { TTL: "-5s" } })).toEqual([500, "Invalid prepared query: DNS TTL '-5s', must be >=0"]);
    expect(refusal({ ID: "x", Name: "q", Service: { Service: "web" } })).toEqual([500, expect.stringMatching(/^ID must be empty when creating a new prepared query/)]);
    expect(refusal({ ID: "x", Name: "q", Service: { Service: "web" } }, false)).toBeUndefined();
    expect(refusal({ Name: "q", Template: { Type: "regex" }, Service: { Service: "web" } })).toEqual([500, `failed compiling template: Bad Template.Type 'regex': use "name_prefix_match"`]);
  });

  it("refuses with 400 a body of the wrong shape and what it cannot honour", () => {
    expect(() => parse([])).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining("must be a JSON object") }));
    expect(() => parse({ Name: "q", Service: { Service: "web", Tags: "primary" } })).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining("Tags must be an array of strings") }));
    expect(() => parse({ Name: "q", Service: { Service: "web", Connect: true } })).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining("Service.Connect is not supported") }));
    expect(() => parse({ Name: "q", Service: { Service: "web", Failover: { Targets: [{ Peer: "p" }] } } })).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining("Targets is not supported") }));
    expect(() => parse({ Name: "q", Service: { Service: "web", Namespace: "team-a" } })).toThrow(expect.objectContaining({ status: 400 }));
    expect(parse({ Name: "q", Service: { Service: "web", Namespace: "default", Connect: false } }).service.service).toBe("web");
  });
});
