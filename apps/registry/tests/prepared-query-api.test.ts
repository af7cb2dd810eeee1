// /v1/query over real sockets on the real RegistryState (the single-replica fixture): create,
// list, get, update, delete, execute and explain in Consul's JSON shapes, templates, session-bound
// queries, blocking list, Consul's errors, and the queries carried by /v1/snapshot.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HttpApi, startHttpApi } from "../src/http/start-http-api.ts";
import { type ConsulAnswer, consulClient } from "./support/consul-client.ts";
import { SingleReplicaServer } from "./support/single-replica-server.ts";

let server: SingleReplicaServer;
let api: HttpApi;
let consul: (method: string, path: string, body?: unknown) => Promise<ConsulAnswer>;

beforeEach(async () => {
  server = new SingleReplicaServer();
  api = await startHttpApi(server, { port: 0, host: "127.0.0.1", agent: { nodeName: "node-1", address: "127.0.0.1" } });
  consul = consulClient(api.port);
  for (const [node, id, tags, status] of [
    ["node-1", "web-1", ["primary"], "passing"],
    ["node-2", "web-2", ["primary", "canary"], "passing"],
    ["node-3", "web-3", [], "warning"],
    ["node-4", "web-4", ["primary"], "critical"],
  ] as const) {
    const register = await consul("PUT", "/v1/catalog/register", {
      Node: node,
      Address: `10.0.0.${node.slice(-1)}`,
      Service: { ID: id, Service: "web", Tags: tags, Port: 8080 },
      Check: { CheckID: `${id}-check`, Name: "alive", Status: status, ServiceID: id },
    });
    expect(register.status).toBe(200);
  }
});

afterEach(async () => {
  await api.close();
});

async function create(body: unknown): Promise<string> {
  const answer = await consul("POST", "/v1/query", body);
  expect(answer.status, answer.text).toBe(200);
  const { ID } = answer.json as { ID: string };
  expect(ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return ID;
}

interface Execution {
  Service: string;
  Nodes: { Node: { Node: string }; Service: { ID: string }; Checks: { CheckID: string }[] }[];
  DNS: { TTL: string };
  Datacenter: string;
  Failovers: number;
}

describe("prepared queries", () => {
  it("creates, lists and reads a query in Consul's shape", async () => {
    const id = await create({ Name: "web-primary", Service: { Service: "web", Tags: ["primary"], OnlyPassing: true }, DNS: { TTL: "10s" } });
    const list = await consul("GET", "/v1/query");
    expect(list.status).toBe(200);
    expect(list.index).toBeGreaterThan(0);
    expect(list.json).toEqual([
      {
        ID: id,
        Name: "web-primary",
        Session: "",
        Token: "",
        Template: { Type: "", Regexp: "", RemoveEmptyTags: false },
        Service: {
          Service: "web",
          Failover: { NearestN: 0, Datacenters: null, Targets: null },
          OnlyPassing: true,
          IgnoreCheckIDs: null,
          Near: "",
          Tags: ["primary"],
          NodeMeta: null,
          ServiceMeta: null,
          Peer: "",
          SamenessGroup: "",
          Connect: false,
        },
        DNS: { TTL: "10s" },
        CreateIndex: list.index,
        ModifyIndex: list.index,
      },
    ]);
    const one = await consul("GET", `/v1/query/${id}`);
    expect(one.json).toEqual(list.json);
    const missing = await consul("GET", "/v1/query/00000000-0000-4000-8000-000000000000");
    expect([missing.status, missing.text]).toEqual([404, "Query not found"]);
  });

  it("executes by name and by id: healthy instances as CheckServiceNodes, with DNS, Datacenter and Failovers", async () => {
    const id = await create({ Name: "web-all", Service: { Service: "web", Failover: { NearestN: 2, Datacenters: ["dc2"] } }, DNS: { TTL: "30s" } });
    for (const idOrName of ["web-all", "WEB-ALL", id]) {
      const answer = await consul("GET", `/v1/query/${idOrName}/execute`);
      expect(answer.status).toBe(200);
      const execution = answer.json as Execution;
      expect({ ...execution, Nodes: execution.Nodes.map((n) => n.Service.ID).sort() }).toEqual({
        Service: "web",
        Nodes: ["web-1", "web-2", "web-3"],
        DNS: { TTL: "30s" },
        Datacenter: "dc1",
        Failovers: 0,
      });
      expect(execution.Nodes[0]?.Checks[0]?.CheckID).toMatch(/^web-\d-check$/);
    }
  });

  it("filters by OnlyPassing and !tags, applies ?limit, and puts this agent's node first with ?near=_agent", async () => {
    await create({ Name: "stable", Service: { Service: "web", OnlyPassing: true, Tags: ["primary", "!canary"] } });
    const stable = (await consul("GET", "/v1/query/stable/execute")).json as Execution;
    expect(stable.Nodes.map((n) => n.Service.ID)).toEqual(["web-1"]);
    await create({ Name: "any", Service: { Service: "web" } });
    for (let i = 0; i < 5; i++) {
      const near = (await consul("GET", "/v1/query/any/execute?near=_agent&limit=2")).json as Execution;
      expect(near.Nodes).toHaveLength(2);
      expect(near.Nodes[0]?.Node.Node).toBe("node-1");
    }
    expect((await consul("GET", "/v1/query/any/execute?limit=x")).status).toBe(500);
  });

  it("updates with PUT (the ID from the URL) and deletes; unknown ids answer Consul's errors", async () => {
    const id = await create({ Name: "q", Service: { Service: "web" } });
    const updated = await consul("PUT", `/v1/query/${id}`, { ID: "ignored", Name: "q2", Service: { Service: "db" } });
    expect([updated.status, updated.text]).toEqual([200, ""]);
    const [after] = (await consul("GET", `/v1/query/${id}`)).json as { Name: string; Service: { Service: string }; CreateIndex: number; ModifyIndex: number }[];
    expect(after).toMatchObject({ Name: "q2", Service: { Service: "db" } });
    expect(after?.ModifyIndex).toBeGreaterThan(after?.CreateIndex ?? Infinity);
    const unknown = "00000000-0000-4000-8000-000000000009";
    expect(await consul("PUT", `/v1/query/${unknown}`, { Name: "x", Service: { Service: "web" } })).toMatchObject({ status: 500, text: expect.stringMatching(new RegExp(`^Cannot modify non-existent prepared query: '${unknown}'`)) });
    expect((await consul("DELETE", `/v1/query/${id}`)).status).toBe(200);
    expect(await consul("DELETE", `/v1/query/${id}`)).toMatchObject({ status: 500, text: expect.stringMatching(new RegExp(`^Cannot modify non-existent prepared query: '${id}'`)) });
    expect((await consul("GET", "/v1/query")).json).toEqual([]);
    expect(await consul("GET", "/v1/query/q2/execute")).toMatchObject({ status: 404, text: "Query not found" });
  });

  it("refuses a duplicate name, an anonymous query without a session, and a bad body", async () => {
    await create({ Name: "dup", Service: { Service: "web" } });
    expect(await consul("POST", "/v1/query", { Name: "DUP", Service: { Service: "web" } })).toMatchObject({ status: 500, text: expect.stringMatching(/^name 'DUP' aliases an existing query name: choose another Name/) });
    expect(await consul("POST", "/v1/query", { Service: { Service: "web" } })).toMatchObject({ status: 500, text: expect.stringMatching(/^Invalid prepared query: Must be bound to a session/) });
    expect(await consul("POST", "/v1/query", "{not json")).toMatchObject({ status: 400, text: expect.stringMatching(/^Request decode failed/) });
    expect(await consul("PATCH", "/v1/query")).toMatchObject({ status: 405 });
    expect(await consul("POST", "/v1/query/dup/execute")).toMatchObject({ status: 405 });
  });

  it("resolves templates by longest prefix, renders them for explain and execute, and refuses them by id", async () => {
    const catchAll = await create({ Name: "", Template: { Type: "name_prefix_match" }, Service: { Service: "${name.full}" } });
    await create({ Name: "tagged-", Template: { Type: "name_prefix_match", Regexp: "^tagged-(.+)$" }, Service: { Service: "web", Tags: ["${match(1)}"] } });
    const explained = await consul("GET", "/v1/query/tagged-canary/explain");
    expect(explained.status).toBe(200);
    expect((explained.json as { Query: { Name: string; Service: { Service: string; Tags: string[] } } }).Query).toMatchObject({ Name: "tagged-", Service: { Service: "web", Tags: ["canary"] } });
    expect(((await consul("GET", "/v1/query/tagged-canary/execute")).json as Execution).Nodes.map((n) => n.Service.ID)).toEqual(["web-2"]);
    expect(((await consul("GET", "/v1/query/web/execute")).json as Execution).Nodes).toHaveLength(3);
    expect(((await consul("GET", "/v1/query/nothing-here/execute")).json as Execution).Nodes).toEqual([]);
    expect(await consul("GET", `/v1/query/${catchAll}/execute`)).toMatchObject({ status: 500, text: expect.stringMatching(/^prepared query templates can only be resolved up by name, not by ID/) });
    expect(await consul("POST", "/v1/query", { Template: { Type: "name_prefix_match" }, Service: { Service: "x" } })).toMatchObject({ status: 500, text: expect.stringMatching(/^a query template with an empty name already exists/) });
    expect(await consul("POST", "/v1/query", { Name: "bad", Template: { Type: "name_prefix_match", Regexp: "(" }, Service: { Service: "x" } })).toMatchObject({
      status: 500,
      text: expect.stringMatching(/^failed compiling template: Bad Regexp: error parsing regexp: /),
    });
  });

  it("deletes a query with its session", async () => {
    const session = ((await consul("PUT", "/v1/session/create", { Name: "owner" })).json as { ID: string }).ID;
    await create({ Session: session, Service: { Service: "web" } });
    await create({ Name: "kept", Service: { Service: "web" } });
    expect((await consul("GET", "/v1/query")).json).toHaveLength(2);
    expect((await consul("PUT", `/v1/session/destroy/${session}`)).json).toBe(true);
    expect(((await consul("GET", "/v1/query")).json as { Name: string }[]).map((q) => q.Name)).toEqual(["kept"]);
    expect(await consul("POST", "/v1/query", { Session: "00000000-0000-4000-8000-00000000dead", Service: { Service: "web" } })).toMatchObject({ status: 500, text: expect.stringMatching(/^invalid session/) });
  });

  it("blocks a list on ?index until a query changes", async () => {
    await create({ Name: "first", Service: { Service: "web" } });
    const { index } = await consul("GET", "/v1/query");
    const blocked = consul("GET", `/v1/query?index=${index}&wait=30s`);
    while (server.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    await create({ Name: "second", Service: { Service: "web" } });
    const woken = await blocked;
    expect(woken.index).toBeGreaterThan(index);
    expect((woken.json as unknown[]).length).toBe(2);
  });

  it("saves queries in /v1/snapshot and restores them", async () => {
    const id = await create({ Name: "saved", Service: { Service: "web" }, DNS: { TTL: "5s" } });
    const saved = await fetch(`http://127.0.0.1:${api.port}/v1/snapshot`);
    const file = new Uint8Array(await saved.arrayBuffer());
    expect((await consul("DELETE", `/v1/query/${id}`)).status).toBe(200);
    expect((await consul("PUT", "/v1/snapshot", file)).status).toBe(200);
    const [restored] = (await consul("GET", "/v1/query")).json as { ID: string; Name: string; DNS: { TTL: string } }[];
    expect(restored).toMatchObject({ ID: id, Name: "saved", DNS: { TTL: "5s" } });
  });
});
