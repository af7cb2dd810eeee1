import { describe, expect, it } from "vitest";
import type { DnsLookup } from "../dns/answer-query.ts";
import { encodeHealthEntry, encodeNode, encodeQueryExecution } from "../http/consul-encode.ts";
import type { CheckDefinition, HealthStatus, RegistryCommand } from "../registry-contract.ts";
import { RegistryState } from "../state/registry-state.ts";
import { lookUpOverHttp, type RegistryGet, UnexpectedRegistryAnswerError } from "./look-up-over-http.ts";

function check(id: string, serviceId: string, status: HealthStatus): CheckDefinition {
  return { checkId: id, name: id, serviceId, status, output: "", type: "ttl" };
}

function register(node: string, address: string, id: string, name: string, port: number, tags: string[], status: HealthStatus, serviceAddress = ""): RegistryCommand {
  return { op: "catalog-register", node, address, service: { id, service: name, address: serviceAddress, port, tags, meta: {} }, checks: [check(`${id}-check`, id, status)] };
}

function catalog(): RegistryState {
  const state = new RegistryState();
  const commands = [
    register("n1", "10.0.0.1", "web-1", "web", 8080, ["v1", "Primary"], "passing"),
    register("n2", "10.0.0.2", "web-2", "web", 8081, ["v2"], "warning"),
    register("n3", "10.0.0.3", "web-3", "web", 8082, ["v1"], "critical"),
    register("Big-Node", "10.0.0.9", "api-1", "Api", 80, [], "passing", "192.168.1.5"),
  ];
  commands.forEach((command, i) => expect(state.apply(i + 1, command, 0).ok).toBe(true));
  return state;
}

/**
 * A registry server's HTTP reads of `state` as the real routes encode them (consul-encode.ts), with
 * case-sensitive names as the HTTP API has them; records each path asked.
 */
function serverReads(state: RegistryState, paths: string[]): RegistryGet {
  return async (path) => {
    paths.push(path);
    const url = new URL(path, "http://server");
    expect(url.searchParams.has("stale")).toBe(true);
    const [, , group, verb, name = ""] = url.pathname.split("/").map(decodeURIComponent);
    const json = (value: unknown) => ({ status: 200, text: JSON.stringify(value), index: state.appliedIndex });
    if (group === "health" && verb === "service") return json(state.serviceInstances(name).map((i) => encodeHealthEntry(i, "dc1")));
    if (group === "catalog" && verb === "services") return json(state.services());
    if (group === "catalog" && verb === "nodes") return json(state.nodes().map((n) => encodeNode(n, "dc1")));
    if (group === "catalog" && verb === "node") {
      const node = state.nodes().find((n) => n.node === name);
      return json(node === undefined ? null : { Node: encodeNode(node, "dc1"), Services: {} });
    }
    // /v1/query/<name>/execute
    if (group === "query" && name === "execute" && verb === "fast-web") {
      return json(encodeQueryExecution({ service: "web", instances: state.serviceInstances("web").slice(0, 1), failovers: 0 }, "30s", "dc1"));
    }
    if (group === "query") return { status: 404, text: "Prepared query not found", index: 3 };
    throw new Error(`unexpected path ${path}`);
  };
}

async function lookUp(lookup: DnsLookup, paths: string[] = []) {
  return lookUpOverHttp(serverReads(catalog(), paths), lookup);
}

describe("lookUpOverHttp", () => {
  it("answers a service with its instances that are not critical (warning included), reading ?stale health", async () => {
    const paths: string[] = [];
    const result = await lookUp({ kind: "service", service: "web", tag: undefined }, paths);
    expect(result.found).toEqual({
      kind: "instances",
      instances: [
        { node: "n1", address: "10.0.0.1", port: 8080 },
        { node: "n2", address: "10.0.0.2", port: 8081 },
      ],
    });
    expect(paths).toEqual(["/v1/health/service/web?stale"]);
    expect(result.index).toBe(4);
  });

  it("filters by tag without case, as the servers' DNS does", async () => {
    expect((await lookUp({ kind: "service", service: "web", tag: "primary" })).found).toEqual({ kind: "instances", instances: [{ node: "n1", address: "10.0.0.1", port: 8080 }] });
    expect((await lookUp({ kind: "service", service: "web", tag: "v3" })).found).toEqual({ kind: "instances", instances: [] });
  });

  it("finds a service registered with capitals through the catalog's names, and the service's own address", async () => {
    const paths: string[] = [];
    expect((await lookUp({ kind: "service", service: "api", tag: undefined }, paths)).found).toEqual({ kind: "instances", instances: [{ node: "Big-Node", address: "192.168.1.5", port: 80 }] });
    expect(paths).toEqual(["/v1/health/service/api?stale", "/v1/catalog/services?stale", "/v1/health/service/Api?stale"]);
    expect((await lookUp({ kind: "service", service: "nope", tag: undefined })).found).toEqual({ kind: "instances", instances: [] });
  });

  it("answers a node by name, without case, and nothing for an unknown node", async () => {
    expect((await lookUp({ kind: "node", node: "n2" })).found).toEqual({ kind: "node", address: "10.0.0.2" });
    expect((await lookUp({ kind: "node", node: "big-node" })).found).toEqual({ kind: "node", address: "10.0.0.9" });
    expect((await lookUp({ kind: "node", node: "n9" })).found).toEqual({ kind: "nothing" });
  });

  it("executes a prepared query, with its DNS.TTL, and answers nothing for an unknown one (404)", async () => {
    const paths: string[] = [];
    expect((await lookUp({ kind: "query", query: "fast-web" }, paths)).found).toEqual({ kind: "instances", instances: [{ node: "n1", address: "10.0.0.1", port: 8080 }], ttlSeconds: 30 });
    expect(paths).toEqual(["/v1/query/fast-web/execute?stale"]);
    expect((await lookUp({ kind: "query", query: "nope" })).found).toEqual({ kind: "nothing" });
  });

  it("reads nothing for the zone apex and a name it does not serve", async () => {
    const paths: string[] = [];
    expect(await lookUp({ kind: "zone" }, paths)).toEqual({ found: { kind: "zone" }, index: 0 });
    expect(await lookUp({ kind: "unknown" }, paths)).toEqual({ found: { kind: "nothing" }, index: 0 });
    expect(paths).toEqual([]);
  });

  it("fails, naming the path, on an answer that is not Consul's JSON or an unexpected status", async () => {
    const garbage: RegistryGet = () => Promise.resolve({ status: 200, text: "<html>", index: 0 });
    await expect(lookUpOverHttp(garbage, { kind: "service", service: "web", tag: undefined })).rejects.toThrow(new UnexpectedRegistryAnswerError("/v1/health/service/web?stale", "not JSON"));
    const forbidden: RegistryGet = () => Promise.resolve({ status: 403, text: "Permission denied", index: 0 });
    await expect(lookUpOverHttp(forbidden, { kind: "node", node: "n1" })).rejects.toThrow("GET /v1/catalog/node/n1?stale: status 403: Permission denied");
  });
});
