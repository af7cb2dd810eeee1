// The Consul HTTP API over the real RegistryState (through the single-replica test fixture):
// real sockets on port 0, real blocking queries, JSON shapes checked against Consul's docs.
import { readFileSync } from "node:fs";
import { Agent, createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeBackupFile } from "../src/backup/backup-file.ts";
import { maxSnapshotBodyBytes } from "../src/http/snapshot-routes.ts";
import { type HttpApi, startHttpApi } from "../src/http/start-http-api.ts";
import { type ConsulAnswer, consulClient, shapeMismatches } from "./support/consul-client.ts";
import { SingleReplicaServer } from "./support/single-replica-server.ts";

let server: SingleReplicaServer;
let api: HttpApi;
let consul: (method: string, path: string, body?: unknown) => Promise<ConsulAnswer>;

beforeEach(async () => {
  server = new SingleReplicaServer();
  api = await startHttpApi(server, { port: 0, host: "127.0.0.1", agent: { nodeName: "node-1", address: "127.0.0.1" } });
  consul = consulClient(api.port);
});

afterEach(async () => {
  await api.close();
});

function example(name: string): unknown {
  const file = JSON.parse(readFileSync(join(import.meta.dirname, "testdata/consul-api", `${name}.json`), "utf8")) as { example: unknown };
  return file.example;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function createSession(body: unknown = {}): Promise<string> {
  const answer = await consul("PUT", "/v1/session/create", body);
  expect(answer.status).toBe(200);
  return (answer.json as { ID: string }).ID;
}

describe("KV", () => {
  it("puts, gets (JSON and raw), and deletes a key", async () => {
    expect((await consul("PUT", "/v1/kv/app/config?flags=42", "hello")).json).toBe(true);
    const got = await consul("GET", "/v1/kv/app/config");
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/json");
    const [entry] = got.json as Record<string, unknown>[];
    expect(entry).toEqual({ Key: "app/config", Value: Buffer.from("hello").toString("base64"), Flags: 42, LockIndex: 0, CreateIndex: got.index, ModifyIndex: got.index });
    expect(shapeMismatches(got.json, example("kv-read"), ["Session"])).toEqual([]);
    expect(got.headers.get("x-consul-knownleader")).toBe("true");
    expect((await consul("GET", "/v1/kv/app/config?raw")).text).toBe("hello");
    expect((await consul("DELETE", "/v1/kv/app/config")).json).toBe(true);
    const gone = await consul("GET", "/v1/kv/app/config");
    expect(gone.status).toBe(404);
    expect(gone.index).toBeGreaterThan(got.index);
  });

  it("gives an empty value as null", async () => {
    await consul("PUT", "/v1/kv/empty", "");
    expect(((await consul("GET", "/v1/kv/empty")).json as { Value: unknown }[])[0]?.Value).toBeNull();
  });

  it("does check-and-set: cas=0 only creates, cas=<ModifyIndex> only updates that version", async () => {
    expect((await consul("PUT", "/v1/kv/c?cas=0", "one")).json).toBe(true);
    expect((await consul("PUT", "/v1/kv/c?cas=0", "two")).json).toBe(false);
    const index = ((await consul("GET", "/v1/kv/c")).json as { ModifyIndex: number }[])[0]?.ModifyIndex ?? 0;
    expect((await consul("PUT", `/v1/kv/c?cas=${index + 100}`, "three")).json).toBe(false);
    expect((await consul("PUT", `/v1/kv/c?cas=${index}`, "four")).json).toBe(true);
    expect((await consul("GET", "/v1/kv/c?raw")).text).toBe("four");
    const now = ((await consul("GET", "/v1/kv/c")).json as { ModifyIndex: number }[])[0]?.ModifyIndex ?? 0;
    expect((await consul("DELETE", `/v1/kv/c?cas=${index}`)).json).toBe(false);
    expect((await consul("DELETE", `/v1/kv/c?cas=${now}`)).json).toBe(true);
  });

  it("acquires and releases a lock, counting LockIndex as a fencing token", async () => {
    const first = await createSession({ Name: "first" });
    const second = await createSession({ Name: "second", LockDelay: "0s" });
    expect((await consul("PUT", `/v1/kv/lock?acquire=${first}`, "a")).json).toBe(true);
    expect((await consul("PUT", `/v1/kv/lock?acquire=${second}`, "b")).json).toBe(false);
    let [entry] = (await consul("GET", "/v1/kv/lock")).json as { LockIndex: number; Session?: string }[];
    expect(entry).toMatchObject({ LockIndex: 1, Session: first });
    expect(shapeMismatches([entry], example("kv-read"))).toEqual([]);
    expect((await consul("PUT", `/v1/kv/lock?release=${second}`, "x")).json).toBe(false);
    expect((await consul("PUT", `/v1/kv/lock?release=${first}`, "a")).json).toBe(true);
    [entry] = (await consul("GET", "/v1/kv/lock")).json as { LockIndex: number; Session?: string }[];
    expect(entry?.Session).toBeUndefined();
    expect((await consul("PUT", `/v1/kv/lock?acquire=${second}`, "b")).json).toBe(true);
    [entry] = (await consul("GET", "/v1/kv/lock")).json as { LockIndex: number; Session?: string }[];
    expect(entry).toMatchObject({ LockIndex: 2, Session: second });
  });

  it("refuses an unknown session with a 400 naming it", async () => {
    const answer = await consul("PUT", "/v1/kv/lock?acquire=no-such-session", "a");
    expect(answer.status).toBe(400);
    expect(answer.text).toContain("no-such-session");
  });

  it("lists recursively, lists keys, folds keys at a separator, deletes a tree", async () => {
    for (const key of ["web/a", "web/b/x", "web/b/y", "webby", "db/a"]) await consul("PUT", `/v1/kv/${key}`, key);
    const recurse = await consul("GET", "/v1/kv/web/?recurse");
    expect((recurse.json as { Key: string }[]).map((e) => e.Key)).toEqual(["web/a", "web/b/x", "web/b/y"]);
    expect((await consul("GET", "/v1/kv/web?keys")).json).toEqual(["web/a", "web/b/x", "web/b/y", "webby"]);
    expect((await consul("GET", "/v1/kv/web/?keys&separator=/")).json).toEqual(["web/a", "web/b/"]);
    expect((await consul("GET", "/v1/kv/?keys&separator=/")).json).toEqual(["db/", "web/", "webby"]);
    expect((await consul("GET", "/v1/kv/nothing/?recurse")).status).toBe(404);
    expect((await consul("DELETE", "/v1/kv/web/?recurse")).json).toBe(true);
    expect((await consul("GET", "/v1/kv/?keys")).json).toEqual(["db/a", "webby"]);
  });

  it("answers bad input with 400/413 naming the parameter", async () => {
    expect(await consul("PUT", "/v1/kv/k?flags=abc", "v")).toMatchObject({ status: 400, text: expect.stringContaining("?flags") });
    expect(await consul("PUT", "/v1/kv/k?cas=-1", "v")).toMatchObject({ status: 400, text: expect.stringContaining("?cas") });
    expect(await consul("GET", "/v1/kv/k?index=1&wait=forever")).toMatchObject({ status: 400, text: expect.stringContaining("?wait") });
    expect(await consul("GET", "/v1/kv/k?stale&consistent")).toMatchObject({ status: 400 });
    expect(await consul("PUT", "/v1/kv/", "v")).toMatchObject({ status: 400, text: expect.stringContaining("Missing key") });
    expect(await consul("PUT", "/v1/kv/k?acquire=a&release=b", "v")).toMatchObject({ status: 400, text: expect.stringContaining("Conflicting") });
    expect((await consul("PUT", "/v1/kv/big", new Uint8Array(600 * 1024))).status).toBe(413);
    expect((await consul("PUT", "/v1/kv/huge", new Uint8Array(2 * 1024 * 1024))).status).toBe(413);
    expect(server.written).toEqual([]);
  });

  it("answers with a Content-Length, not a chunked body, as Consul does", async () => {
    const answers = [
      await consul("PUT", "/v1/kv/sized", "é and more"),
      await consul("GET", "/v1/kv/sized"),
      await consul("GET", "/v1/kv/sized?raw"),
      await consul("GET", "/v1/kv/absent"),
      await consul("PUT", "/v1/kv/sized?cas=bad", "x"),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 404, 400]);
    for (const answer of answers) {
      expect(answer.headers.get("transfer-encoding")).toBeNull();
      expect(answer.headers.get("content-length")).toBe(String(Buffer.byteLength(answer.text)));
    }
    expect(answers[2]?.text).toBe("é and more");
  });

  it("keeps X-Consul-Index present and increasing across writes", async () => {
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      await consul("PUT", `/v1/kv/counter/${i}`, String(i));
      seen.push((await consul("GET", "/v1/kv/counter/?recurse")).index);
    }
    expect(seen.every((index) => Number.isInteger(index) && index > 0)).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
    expect((await consul("GET", "/v1/catalog/nodes")).index).toBeGreaterThanOrEqual(1);
  });
});

describe("blocking queries", () => {
  it("a blocking GET wakes on a write under its prefix and returns the new index", async () => {
    await consul("PUT", "/v1/kv/watched/a", "1");
    const before = await consul("GET", "/v1/kv/watched/?recurse");
    const blocked = consul("GET", `/v1/kv/watched/?recurse&index=${before.index}&wait=60s`);
    await until(() => server.waiting === 1);
    await consul("PUT", "/v1/kv/other", "not watched");
    expect(server.waiting).toBe(1);
    await consul("PUT", "/v1/kv/watched/b", "2");
    const woke = await blocked;
    expect(woke.status).toBe(200);
    expect(woke.index).toBeGreaterThan(before.index);
    expect((woke.json as { Key: string }[]).map((e) => e.Key)).toEqual(["watched/a", "watched/b"]);
  });

  it("stops waiting when the client goes away", async () => {
    await consul("PUT", "/v1/kv/gone", "1");
    const before = await consul("GET", "/v1/kv/gone");
    const client = new AbortController();
    const blocked = fetch(`http://127.0.0.1:${api.port}/v1/kv/gone?index=${before.index}&wait=10m`, { signal: client.signal }).catch(() => "aborted");
    await until(() => server.waiting === 1);
    client.abort();
    expect(await blocked).toBe("aborted");
    await until(() => server.waiting === 0);
  });

  it("returns at ?wait with the same index when nothing changed", async () => {
    await consul("PUT", "/v1/kv/quiet", "1");
    const before = await consul("GET", "/v1/kv/quiet");
    const after = await consul("GET", `/v1/kv/quiet?index=${before.index}&wait=50ms`);
    expect(after.status).toBe(200);
    expect(after.index).toBe(before.index);
  });

  it("health blocking query wakes when a check changes", async () => {
    await consul("PUT", "/v1/agent/service/register", { Name: "web", Port: 80, Check: { TTL: "30s" } });
    const before = await consul("GET", "/v1/health/service/web");
    const blocked = consul("GET", `/v1/health/service/web?index=${before.index}&wait=60s`);
    await until(() => server.waiting === 1);
    await consul("PUT", "/v1/agent/check/pass/service:web");
    const woke = await blocked;
    expect(woke.index).toBeGreaterThan(before.index);
    expect((woke.json as { Checks: { Status: string }[] }[])[0]?.Checks[0]?.Status).toBe("passing");
  });
});

describe("txn", () => {
  it("applies all ops and returns their results", async () => {
    const answer = await consul("PUT", "/v1/txn", [
      { KV: { Verb: "set", Key: "t/a", Value: Buffer.from("A").toString("base64") } },
      { KV: { Verb: "set", Key: "t/b", Value: Buffer.from("B").toString("base64"), Flags: 3 } },
      { KV: { Verb: "get", Key: "t/a" } },
    ]);
    expect(answer.status).toBe(200);
    const body = answer.json as { Results: { KV: { Key: string } }[]; Errors: unknown };
    expect(body.Errors).toBeNull();
    expect(body.Results.map((r) => r.KV.Key)).toEqual(["t/a", "t/b", "t/a"]);
    expect(shapeMismatches({ ...body, Errors: [{ OpIndex: 0, What: "" }] }, example("txn-response"))).toEqual([]);
    expect(shapeMismatches(body.Results, [{ KV: example("kv-read") }].map((r) => ({ KV: (r.KV as unknown[])[0] })), ["Session"])).toEqual([]);
  });

  it("answers 409 with the failing op and changes nothing", async () => {
    await consul("PUT", "/v1/kv/t/exists", "x");
    const answer = await consul("PUT", "/v1/txn", [
      { KV: { Verb: "set", Key: "t/new", Value: "" } },
      { KV: { Verb: "check-not-exists", Key: "t/exists" } },
    ]);
    expect(answer.status).toBe(409);
    const body = answer.json as { Results: unknown; Errors: { OpIndex: number; What: string }[] };
    expect(body.Results).toBeNull();
    expect(body.Errors[0]?.OpIndex).toBe(1);
    expect((await consul("GET", "/v1/kv/t/new")).status).toBe(404);
  });

  it("rejects malformed txn bodies with 400", async () => {
    expect((await consul("PUT", "/v1/txn", "{not json")).status).toBe(400);
    expect(await consul("PUT", "/v1/txn", [{ KV: { Verb: "explode", Key: "k" } }])).toMatchObject({ status: 400, text: expect.stringContaining("op[0].KV.Verb") });
    expect(await consul("PUT", "/v1/txn", [{ KV: { Verb: "set", Key: "k", Value: "not base64!" } }])).toMatchObject({ status: 400, text: expect.stringContaining("base64") });
    expect(await consul("PUT", "/v1/txn", [{ Node: { Verb: "set" } }])).toMatchObject({ status: 400, text: expect.stringContaining("only KV") });
  });
});

describe("sessions", () => {
  it("creates, shows, lists, renews and destroys a session", async () => {
    const created = await consul("PUT", "/v1/session/create", { Name: "s", TTL: "30s", LockDelay: "5s" });
    expect(shapeMismatches(created.json, example("session-create"))).toEqual([]);
    const id = (created.json as { ID: string }).ID;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const info = await consul("GET", `/v1/session/info/${id}`);
    expect(info.json).toMatchObject([{ ID: id, Name: "s", Node: "node-1", TTL: "30s", LockDelay: 5_000_000_000, Behavior: "release" }]);
    expect(shapeMismatches(info.json, example("session-info"))).toEqual([]);
    expect((await consul("GET", "/v1/session/list")).json).toHaveLength(1);
    expect((await consul("GET", "/v1/session/node/node-1")).json).toHaveLength(1);
    expect((await consul("PUT", `/v1/session/renew/${id}`)).json).toMatchObject([{ ID: id }]);
    expect(server.renewed).toEqual([id]);
    expect((await consul("PUT", "/v1/session/renew/unknown")).status).toBe(404);
    expect((await consul("PUT", `/v1/session/destroy/${id}`)).json).toBe(true);
    expect((await consul("GET", `/v1/session/info/${id}`)).json).toEqual([]);
  });

  it("behavior delete removes the held keys when the session is destroyed; release keeps them unlocked", async () => {
    const deleting = await createSession({ Behavior: "delete" });
    const releasing = await createSession({ Behavior: "release" });
    await consul("PUT", `/v1/kv/held/by-delete?acquire=${deleting}`, "d");
    await consul("PUT", `/v1/kv/held/by-release?acquire=${releasing}`, "r");
    await consul("PUT", `/v1/session/destroy/${deleting}`);
    await consul("PUT", `/v1/session/destroy/${releasing}`);
    expect((await consul("GET", "/v1/kv/held/by-delete")).status).toBe(404);
    const kept = (await consul("GET", "/v1/kv/held/by-release")).json as { Session?: string }[];
    expect(kept[0]?.Session).toBeUndefined();
  });

  it("refuses bad session bodies naming the field", async () => {
    expect(await consul("PUT", "/v1/session/create", { TTL: "1s" })).toMatchObject({ status: 400, text: expect.stringContaining("TTL") });
    expect(await consul("PUT", "/v1/session/create", { Behavior: "explode" })).toMatchObject({ status: 400, text: expect.stringContaining("Behavior") });
    expect(await consul("PUT", "/v1/session/create", { Name: 7 })).toMatchObject({ status: 400, text: expect.stringContaining("Name") });
  });
});

const registration = (node: string, id: string, status: string, tags: string[] = []) => ({
  Node: node,
  Address: `10.0.0.${node.length}`,
  NodeMeta: { rack: node === "n1" ? "r1" : "r2" },
  Service: { ID: id, Service: "reviews", Tags: tags, Address: "", Port: 9080, Meta: { version: "v1" } },
  Check: { CheckID: `check-${id}`, Name: "alive", Status: status, ServiceID: id },
});

describe("catalog and health", () => {
  beforeEach(async () => {
    expect((await consul("PUT", "/v1/catalog/register", registration("n1", "reviews-1", "passing", ["v1"]))).json).toBe(true);
    expect((await consul("PUT", "/v1/catalog/register", registration("n22", "reviews-2", "critical", ["v2"]))).json).toBe(true);
  });

  it("lists nodes, services, a service's instances and a node", async () => {
    const nodes = await consul("GET", "/v1/catalog/nodes");
    expect((nodes.json as { Node: string }[]).map((n) => n.Node)).toEqual(["n1", "n22"]);
    expect(shapeMismatches(nodes.json, example("catalog-nodes"))).toEqual([]);
    expect((await consul("GET", "/v1/catalog/nodes?node-meta=rack:r2")).json).toMatchObject([{ Node: "n22" }]);
    expect((await consul("GET", "/v1/catalog/datacenters")).json).toEqual(["dc1"]);
    const services = await consul("GET", "/v1/catalog/services");
    expect(services.json).toEqual({ reviews: ["v1", "v2"] });
    const documented = example("catalog-services") as Record<string, unknown>;
    expect(shapeMismatches((services.json as Record<string, unknown>)["reviews"], documented["postgresql"])).toEqual([]);
    const instances = await consul("GET", "/v1/catalog/service/reviews");
    expect(instances.json).toHaveLength(2);
    expect(shapeMismatches(instances.json, example("catalog-service"))).toEqual([]);
    expect((await consul("GET", "/v1/catalog/service/reviews?tag=v2")).json).toMatchObject([{ ServiceID: "reviews-2", ServicePort: 9080, ServiceMeta: { version: "v1" } }]);
    expect((await consul("GET", "/v1/catalog/service/reviews?node-meta=rack:r1")).json).toMatchObject([{ ServiceID: "reviews-1" }]);
    const node = await consul("GET", "/v1/catalog/node/n1");
    expect(node.json).toMatchObject({ Node: { Node: "n1" }, Services: { "reviews-1": { ID: "reviews-1", Service: "reviews", Port: 9080 } } });
    // Consul answers 200 null for an unknown node (hashicorp/consul#9330).
    expect(await consul("GET", "/v1/catalog/node/nope")).toMatchObject({ status: 200, text: "null" });
  });

  it("health ?passing leaves out the critical instance", async () => {
    const all = await consul("GET", "/v1/health/service/reviews");
    expect(all.json).toHaveLength(2);
    expect(shapeMismatches(all.json, example("health-service"))).toEqual([]);
    const passing = await consul("GET", "/v1/health/service/reviews?passing");
    expect((passing.json as { Service: { ID: string } }[]).map((e) => e.Service.ID)).toEqual(["reviews-1"]);
    expect((await consul("GET", "/v1/health/service/reviews?passing&tag=v2")).json).toEqual([]);
  });

  it("lists checks by service, node and state", async () => {
    const checks = await consul("GET", "/v1/health/checks/reviews");
    expect((checks.json as { CheckID: string }[]).map((c) => c.CheckID).sort()).toEqual(["check-reviews-1", "check-reviews-2"]);
    expect(shapeMismatches(checks.json, example("health-checks"))).toEqual([]);
    expect((await consul("GET", "/v1/health/node/n22")).json).toMatchObject([{ CheckID: "check-reviews-2", Status: "critical", ServiceName: "reviews" }]);
    expect((await consul("GET", "/v1/health/state/critical")).json).toMatchObject([{ CheckID: "check-reviews-2" }]);
    expect((await consul("GET", "/v1/health/state/any")).json).toHaveLength(2);
    expect(await consul("GET", "/v1/health/state/bogus")).toMatchObject({ status: 400, text: expect.stringContaining("bogus") });
  });

  it("deregisters a service and then a node", async () => {
    expect((await consul("PUT", "/v1/catalog/deregister", { Node: "n22", ServiceID: "reviews-2" })).json).toBe(true);
    expect((await consul("GET", "/v1/catalog/service/reviews")).json).toHaveLength(1);
    expect((await consul("PUT", "/v1/catalog/deregister", { Node: "n1" })).json).toBe(true);
    expect((await consul("GET", "/v1/catalog/service/reviews")).json).toEqual([]);
    expect((await consul("GET", "/v1/catalog/nodes")).json).toMatchObject([{ Node: "n22" }]);
  });

  it("refuses a registration without Node or Address", async () => {
    expect(await consul("PUT", "/v1/catalog/register", { Address: "1.2.3.4" })).toMatchObject({ status: 400, text: expect.stringContaining("Node") });
    expect(await consul("PUT", "/v1/catalog/register", { Node: "x" })).toMatchObject({ status: 400, text: expect.stringContaining("Address") });
  });
});

describe("agent", () => {
  it("registers a service with a TTL check and moves it through pass / warn / fail", async () => {
    const register = await consul("PUT", "/v1/agent/service/register", { ID: "api-1", Name: "api", Port: 8080, Tags: ["v1"], Meta: { app: "api" }, Check: { TTL: "30s" } });
    expect(register.status).toBe(200);
    const services = await consul("GET", "/v1/agent/services");
    expect(services.json).toMatchObject({ "api-1": { ID: "api-1", Service: "api", Port: 8080, Tags: ["v1"], Meta: { app: "api" } } });
    expect(shapeMismatches((services.json as Record<string, unknown>)["api-1"], (example("agent-services") as Record<string, unknown>)["redis"])).toEqual([]);
    const status = async () => ((await consul("GET", "/v1/health/service/api")).json as { Checks: { CheckID: string; Status: string; Output: string }[] }[])[0]?.Checks[0];
    expect(await status()).toMatchObject({ CheckID: "service:api-1", Status: "critical" });
    expect((await consul("GET", "/v1/health/service/api?passing")).json).toEqual([]);
    expect((await consul("PUT", "/v1/agent/check/pass/service:api-1?note=all%20good")).status).toBe(200);
    expect(await status()).toMatchObject({ Status: "passing", Output: "all good" });
    expect((await consul("GET", "/v1/health/service/api?passing")).json).toHaveLength(1);
    await consul("PUT", "/v1/agent/check/warn/service:api-1");
    expect((await status())?.Status).toBe("warning");
    await consul("PUT", "/v1/agent/check/update/service:api-1", { Status: "passing", Output: "back" });
    expect(await status()).toMatchObject({ Status: "passing", Output: "back" });
    const writes = server.written.length;
    await consul("PUT", "/v1/agent/check/update/service:api-1", { Status: "passing", Output: "back" });
    expect(server.written.length).toBe(writes);
    await consul("PUT", "/v1/agent/check/fail/service:api-1?note=down");
    expect(await status()).toMatchObject({ Status: "critical", Output: "down" });
    const checks = await consul("GET", "/v1/agent/checks");
    expect(checks.json).toMatchObject({ "service:api-1": { Status: "critical", ServiceID: "api-1", ServiceName: "api", Type: "ttl" } });
    expect((await consul("PUT", "/v1/agent/service/deregister/api-1")).status).toBe(200);
    expect((await consul("GET", "/v1/agent/services")).json).toEqual({});
    expect(api.checks.has("service:api-1")).toBe(false);
  });

  it("runs an HTTP check against a real endpoint and reports it in health", async () => {
    let healthy = true;
    const app = createServer((_request, response) => {
      response.writeHead(healthy ? 200 : 503);
      response.end(healthy ? "ok" : "sick");
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/health`;
      await consul("PUT", "/v1/agent/service/register", { Name: "app", Port: 1, Check: { HTTP: url, Interval: "1h", Timeout: "2s" } });
      const check = async () => ((await consul("GET", "/v1/health/checks/app")).json as { Status: string; Output: string }[])[0];
      expect((await check())?.Status).toBe("critical");
      await api.checks.runNow("service:app");
      expect(await check()).toMatchObject({ Status: "passing", Output: `HTTP GET ${url}: 200 OK Output: ok` });
      healthy = false;
      await api.checks.runNow("service:app");
      expect(await check()).toMatchObject({ Status: "critical", Output: `HTTP GET ${url}: 503 Service Unavailable Output: sick` });
    } finally {
      await new Promise((resolve) => app.close(resolve));
    }
  });

  it("answers 404 for an unknown check and 400 for a non-TTL one", async () => {
    expect((await consul("PUT", "/v1/agent/check/pass/nope")).status).toBe(404);
    await consul("PUT", "/v1/agent/service/register", { Name: "tcp-svc", Port: 1, Check: { TCP: "127.0.0.1:1", Interval: "1h" } });
    expect(await consul("PUT", "/v1/agent/check/pass/service:tcp-svc")).toMatchObject({ status: 400, text: expect.stringContaining("TTL") });
    expect(await consul("PUT", "/v1/agent/service/register", { Name: "x", Check: { HTTP: "http://x" } })).toMatchObject({ status: 400, text: expect.stringContaining("Interval") });
    expect(await consul("PUT", "/v1/agent/service/register", { Port: 1 })).toMatchObject({ status: 400, text: expect.stringContaining("Name") });
  });

  it("registers and deregisters a check of an existing service", async () => {
    await consul("PUT", "/v1/agent/service/register", { Name: "db", Port: 5432 });
    expect((await consul("PUT", "/v1/agent/check/register", { ID: "db-ttl", Name: "db ttl", ServiceID: "db", TTL: "1m", Status: "passing" })).status).toBe(200);
    expect((await consul("GET", "/v1/health/checks/db")).json).toMatchObject([{ CheckID: "db-ttl", Status: "passing" }]);
    expect(await consul("PUT", "/v1/agent/check/register", { Name: "orphan", ServiceID: "nope", TTL: "1m" })).toMatchObject({ status: 400, text: expect.stringContaining("nope") });
    expect((await consul("PUT", "/v1/agent/check/deregister/db-ttl")).status).toBe(200);
    expect((await consul("GET", "/v1/health/checks/db")).json).toEqual([]);
  });

  it("shows a node-level check (no service) in agent/checks and health/node", async () => {
    expect((await consul("PUT", "/v1/agent/check/register", { Name: "disk", TTL: "1m" })).status).toBe(200);
    expect((await consul("GET", "/v1/agent/checks")).json).toMatchObject({ disk: { CheckID: "disk", Status: "critical", ServiceID: "" } });
    await consul("PUT", "/v1/agent/check/pass/disk");
    expect((await consul("GET", "/v1/health/node/node-1")).json).toMatchObject([{ CheckID: "disk", Status: "passing" }]);
    expect((await consul("GET", "/v1/health/state/passing")).json).toMatchObject([{ CheckID: "disk" }]);
  });

  it("a restarted agent runs the checks the catalog already has", async () => {
    await consul("PUT", "/v1/agent/service/register", { Name: "api", Check: { TTL: "1m" } });
    const restarted = await startHttpApi(server, { port: 0, host: "127.0.0.1", agent: { nodeName: "node-1" } });
    try {
      expect(restarted.checks.has("service:api")).toBe(true);
      expect((await consulClient(restarted.port)("PUT", "/v1/agent/check/pass/service:api")).status).toBe(200);
    } finally {
      await restarted.close();
    }
  });

  it("answers one service by ID with its ContentHash, and blocks on ?hash until it changes", async () => {
    await consul("PUT", "/v1/agent/service/register", { ID: "api-1", Name: "api", Port: 8080, Tags: ["v1"] });
    const one = await consul("GET", "/v1/agent/service/api-1");
    expect(one.json).toMatchObject({ ID: "api-1", Service: "api", Port: 8080, Tags: ["v1"], Datacenter: "dc1" });
    const hash = (one.json as { ContentHash: string }).ContentHash;
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(one.headers.get("x-consul-contenthash")).toBe(hash);
    expect(await consul("GET", "/v1/agent/service/nope")).toMatchObject({ status: 404, text: "unknown service ID: nope" });
    // An unrelated catalog write wakes the wait but not the answer: the service still hashes the same.
    const blocked = consul("GET", `/v1/agent/service/api-1?hash=${hash}&wait=60s`);
    await until(() => server.waiting === 1);
    await consul("PUT", "/v1/agent/service/register", { ID: "db-1", Name: "db", Port: 5432 });
    await until(() => server.waiting === 1);
    await consul("PUT", "/v1/agent/service/register", { ID: "api-1", Name: "api", Port: 9090, Tags: ["v2"] });
    const changed = await blocked;
    expect(changed.json).toMatchObject({ ID: "api-1", Port: 9090, Tags: ["v2"] });
    expect((changed.json as { ContentHash: string }).ContentHash).not.toBe(hash);
    // A wait that runs out answers the unchanged service.
    const now = (changed.json as { ContentHash: string }).ContentHash;
    expect((await consul("GET", `/v1/agent/service/api-1?hash=${now}&wait=10ms`)).json).toMatchObject({ ContentHash: now });
  });

  it("puts a service and the node into maintenance with Consul's critical checks, and back", async () => {
    await consul("PUT", "/v1/agent/service/register", { ID: "api-1", Name: "api", Port: 8080 });
    await consul("PUT", "/v1/agent/service/register", { ID: "db-1", Name: "db", Port: 5432 });
    expect((await consul("GET", "/v1/health/service/api?passing")).json).toHaveLength(1);
    expect((await consul("PUT", "/v1/agent/service/maintenance/api-1?enable=true&reason=upgrading")).status).toBe(200);
    expect((await consul("GET", "/v1/health/service/api?passing")).json).toEqual([]);
    expect((await consul("GET", "/v1/health/checks/api")).json).toMatchObject([
      { CheckID: "_service_maintenance:api-1", Name: "Service Maintenance Mode", Status: "critical", Output: "upgrading", ServiceID: "api-1" },
    ]);
    expect((await consul("GET", "/v1/health/service/db?passing")).json).toHaveLength(1);
    expect((await consul("PUT", "/v1/agent/service/maintenance/api-1?enable=false")).status).toBe(200);
    expect((await consul("GET", "/v1/health/service/api?passing")).json).toHaveLength(1);

    expect((await consul("PUT", "/v1/agent/maintenance?enable=true")).status).toBe(200);
    expect((await consul("GET", "/v1/health/node/node-1")).json).toMatchObject([
      { CheckID: "_node_maintenance", Status: "critical", Output: "Maintenance mode is enabled for this node, but no reason was provided. This is a default message." },
    ]);
    expect((await consul("GET", "/v1/health/service/db?passing")).json).toEqual([]);
    await consul("PUT", "/v1/agent/maintenance?enable=false");
    expect((await consul("GET", "/v1/health/service/db?passing")).json).toHaveLength(1);

    expect(await consul("PUT", "/v1/agent/maintenance")).toMatchObject({ status: 400, text: expect.stringContaining("Missing value for enable") });
    expect(await consul("PUT", "/v1/agent/maintenance?enable=yes")).toMatchObject({ status: 400, text: expect.stringContaining("use true or false") });
    expect(await consul("PUT", "/v1/agent/service/maintenance/nope?enable=true")).toMatchObject({ status: 404, text: expect.stringContaining("Unknown service ID") });
    expect(await consul("PUT", "/v1/agent/service/maintenance?enable=true")).toMatchObject({ status: 400, text: expect.stringContaining("Missing service ID") });
  });

  it("pretty-prints with ?pretty", async () => {
    expect((await consul("GET", "/v1/agent/self?pretty")).text).toContain('\n    "Config"');
  });

  it("describes itself", async () => {
    const self = await consul("GET", "/v1/agent/self");
    expect(self.json).toMatchObject({ Config: { Datacenter: "dc1", NodeName: "node-1", NodeID: "server-1", Server: true } });
  });
});

describe("status, operator, leaderless follower", () => {
  it("reports the leader and the peers", async () => {
    expect((await consul("GET", "/v1/status/leader")).json).toBe("127.0.0.1:8300");
    expect((await consul("GET", "/v1/status/peers")).json).toEqual(["127.0.0.1:8300"]);
    expect((await consul("GET", "/v1/operator/raft/configuration")).json).toMatchObject({ Servers: [{ Address: "127.0.0.1:8300", Leader: true, Voter: true }] });
    expect((await consul("DELETE", "/v1/operator/raft/peer")).status).toBe(400);
    expect((await consul("DELETE", "/v1/operator/raft/peer?id=server-2")).status).toBe(200);
    expect((await consul("PUT", "/v1/agent/join/127.0.0.1:8302?id=server-3")).status).toBe(200);
    expect((await consul("PUT", "/v1/agent/join/127.0.0.1:8302")).status).toBe(400);
    expect(server.membership).toEqual(["-server-2", "+server-3@127.0.0.1:8302"]);
  });

  it("answers 500 No cluster leader without a leader, but serves ?stale", async () => {
    await consul("PUT", "/v1/kv/k", "v");
    server.hasLeader = false;
    expect(await consul("GET", "/v1/kv/k")).toMatchObject({ status: 500, text: "No cluster leader" });
    expect(await consul("PUT", "/v1/kv/k", "w")).toMatchObject({ status: 500, text: "No cluster leader" });
    const stale = await consul("GET", "/v1/kv/k?stale");
    expect(stale.status).toBe(200);
    expect(stale.headers.get("x-consul-knownleader")).toBe("false");
    expect((await consul("GET", "/v1/status/leader")).json).toBe("");
  });

  it("answers 404 for unknown endpoints and 405 for wrong methods", async () => {
    expect((await consul("GET", "/v1/nope")).status).toBe(404);
    expect((await consul("POST", "/v1/catalog/nodes")).status).toBe(405);
    expect((await consul("GET", "/v1/session/create")).status).toBe(405);
  });
});

describe("snapshot (GET and PUT /v1/snapshot)", () => {
  async function save(query = ""): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const response = await fetch(`http://127.0.0.1:${api.port}/v1/snapshot${query}`);
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  }
  /** A read's JSON without the index fields, which a restore moves forward. */
  async function readWithoutIndexes(path: string): Promise<unknown> {
    return JSON.parse((await consul("GET", path)).text, (key, value: unknown) => (/^(CreateIndex|ModifyIndex)$/.test(key) ? undefined : value));
  }
  const views = ["/v1/kv/?recurse", "/v1/catalog/services", "/v1/catalog/nodes", "/v1/health/service/web", "/v1/session/list", "/v1/agent/checks"];

  it("saves the state at its index, and a restore brings it back with every index moved forward, waking a blocking query", async () => {
    await consul("PUT", "/v1/kv/app/a", "1");
    await consul("PUT", "/v1/kv/app/b", "2");
    await consul("PUT", "/v1/agent/service/register", { Name: "web", Port: 80, Check: { TTL: "30s" } });
    const session = await createSession({ Name: "saved" });
    await consul("PUT", `/v1/kv/app/lock?acquire=${session}`, "held");
    const saved = await save();
    expect(saved.status).toBe(200);
    expect(saved.headers.get("content-type")).toBe("application/octet-stream");
    const file = decodeBackupFile(saved.body);
    if (!file.ok) throw new Error(file.message);
    expect({ index: file.file.index, term: file.file.term, datacenter: file.file.datacenter }).toEqual({ index: Number(saved.headers.get("x-consul-index")), term: 1, datacenter: "dc1" });
    expect(file.file.index).toBe(server.state.appliedIndex);
    const before = await Promise.all(views.map(readWithoutIndexes));

    // Change everything the file holds.
    await consul("PUT", "/v1/kv/app/a", "changed");
    await consul("DELETE", "/v1/kv/app/b");
    await consul("PUT", "/v1/kv/app/c", "new");
    await consul("PUT", `/v1/session/destroy/${session}`);
    await consul("PUT", "/v1/agent/service/deregister/web");
    await consul("PUT", "/v1/agent/service/register", { Name: "db", Port: 5432, Check: { TTL: "30s" } });
    expect(api.checks.has("service:web")).toBe(false);
    const casToken = ((await consul("GET", "/v1/kv/app/a")).json as { ModifyIndex: number }[])[0]?.ModifyIndex ?? 0;
    const last = await consul("GET", "/v1/kv/app/?recurse");
    const blocked = consul("GET", `/v1/kv/app/?recurse&index=${last.index}&wait=60s`);
    await until(() => server.waiting === 1);

    const restored = await fetch(`http://127.0.0.1:${api.port}/v1/snapshot`, { method: "PUT", body: saved.body });
    expect(restored.status).toBe(200);
    const restoreIndex = Number(restored.headers.get("x-consul-index"));
    expect(restoreIndex).toBeGreaterThan(last.index);

    const woke = await blocked;
    expect(woke.index).toBe(restoreIndex);
    expect((woke.json as { Key: string }[]).map((e) => e.Key)).toEqual(["app/a", "app/b", "app/lock"]);
    expect(await Promise.all(views.map(readWithoutIndexes))).toEqual(before);
    for (const entry of (await consul("GET", "/v1/kv/?recurse")).json as { ModifyIndex: number; CreateIndex: number }[]) {
      expect([entry.CreateIndex, entry.ModifyIndex]).toEqual([restoreIndex, restoreIndex]);
    }
    // Every index a client reads is past everything before the restore; old CAS tokens are stale.
    for (const path of ["/v1/kv/app/a", "/v1/kv/app/c", "/v1/catalog/services", "/v1/health/service/db", "/v1/session/list"]) {
      expect((await consul("GET", path)).index, path).toBeGreaterThanOrEqual(restoreIndex);
    }
    expect((await consul("PUT", `/v1/kv/app/a?cas=${casToken}`, "late")).json).toBe(false);
    // The agent runs the restored catalog's checks of its node (and no longer the deregistered one's).
    expect(api.checks.has("service:web")).toBe(true);
    expect(api.checks.has("service:db")).toBe(false);
    expect((await consul("PUT", "/v1/agent/check/pass/service:web")).status).toBe(200);
    // The restored session still holds its lock.
    expect(((await consul("GET", "/v1/kv/app/lock")).json as { Session?: string }[])[0]?.Session).toBe(session);
  });

  it("refuses a file that is not a snapshot, is damaged or cut short with a 400 naming the problem, and changes nothing", async () => {
    await consul("PUT", "/v1/kv/keep", "1");
    const { body } = await save();
    await consul("PUT", "/v1/kv/keep", "2");
    const written = server.written.length;
    const flipped = Buffer.from(body);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] as number) ^ 0xff;
    const cases: [Uint8Array, RegExp][] = [
      [Buffer.from("PK\u0003\u0004 a Consul snapshot archive"), /^Invalid snapshot: not a registry snapshot.*meshctl registry snapshot save/],
      [flipped, /^Invalid snapshot: the snapshot's SHA-256 does not match its state: the file is damaged; use another copy$/],
      [body.subarray(0, body.length - 100), /^Invalid snapshot: the snapshot is truncated: its header announces \d+ bytes of state, the file holds \d+; save it again/],
      [new Uint8Array(0), /^Invalid snapshot: not a registry snapshot/],
    ];
    for (const [file, message] of cases) {
      const answer = await fetch(`http://127.0.0.1:${api.port}/v1/snapshot`, { method: "PUT", body: file });
      expect(answer.status).toBe(400);
      expect(await answer.text()).toMatch(message);
    }
    expect(server.written.length).toBe(written);
    expect((await consul("GET", "/v1/kv/keep?raw")).text).toBe("2");
  });

  it("answers a restore larger than one Raft entry can carry with 413 naming the limit", async () => {
    const answer = await fetch(`http://127.0.0.1:${api.port}/v1/snapshot`, { method: "PUT", body: new Uint8Array(maxSnapshotBodyBytes + 1) });
    expect(answer.status).toBe(413);
    expect(await answer.text()).toMatch(/over the \d+-byte limit of a restore: the state travels base64-encoded in one Raft entry of at most 30 MiB/);
  });

  it("needs the leader by default, and serves this server's own state with ?stale", async () => {
    await consul("PUT", "/v1/kv/k", "v");
    server.hasLeader = false;
    expect(await save()).toMatchObject({ status: 500 });
    const stale = await save("?stale");
    expect(stale.status).toBe(200);
    expect(stale.headers.get("x-consul-knownleader")).toBe("false");
    expect(decodeBackupFile(stale.body)).toMatchObject({ ok: true, file: { index: server.state.appliedIndex } });
    expect((await fetch(`http://127.0.0.1:${api.port}/v1/snapshot`, { method: "DELETE" })).status).toBe(405);
  });
});

describe("connections", () => {
  it("keeps an idle keep-alive connection longer than Go's and Node's clients do (no ECONNRESET on reuse)", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answer = await new Promise<{ keepAlive: string | undefined; connection: string | undefined }>((resolve, reject) => {
        get({ host: "127.0.0.1", port: api.port, path: "/v1/status/leader", agent }, (response) => {
          response.resume();
          response.once("end", () => resolve({ keepAlive: String(response.headers["keep-alive"]), connection: response.headers.connection }));
        }).once("error", reject);
      });
      expect(answer.connection).toBe("keep-alive");
      // Go's http.Transport (the Consul API client) drops idle connections after 90 s: the server must wait longer.
      const timeoutS = Number(/timeout=(\d+)/.exec(answer.keepAlive ?? "")?.[1]);
      expect(timeoutS).toBeGreaterThan(90);
    } finally {
      agent.destroy();
    }
  });
});
