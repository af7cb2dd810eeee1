// The client agent's local HTTP API as Consul tools use it, in-process (startAgent, --http-port 0)
// against a REAL one-node registry (startTestRegistry): KV, catalog and health requests are
// forwarded (blocking queries included, X-Consul-* headers and 4xx answers passed through, a dead
// first server skipped, no live server → Consul's 500), and the agent's own endpoints — TTL checks,
// maintenance, checks, local service health, join/leave — reach the servers' catalog.
import { createServer, type Server, type Socket } from "node:net";
import { readSettings } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentSettings } from "../src/agent-mode/agent-settings.ts";
import { startGossip } from "../src/gossip/start-gossip.ts";
import { type RunningAgent, startAgent } from "../src/agent-mode/start-agent.ts";
import { startTestRegistry, type TestRegistry } from "./support/start-test-registry.ts";

let registry: TestRegistry;
let dead = "";
const hooks: (() => Promise<void> | void)[] = [];
const logLines: Record<string, unknown>[] = [];
let stopRequests = 0;

async function runAgent(servers: readonly string[], node: string): Promise<{ running: RunningAgent; base: string }> {
  const read = readSettings(agentSettings, { argv: [...servers.flatMap((s) => ["--server", s]), "--node", node, "--http-port", "0", "--sync-interval", "1m"], env: {} });
  if (read.type !== "settings") throw new Error(`agent settings: ${JSON.stringify(read)}`);
  const running = await startAgent(read.settings, {
    logger: createLogger({ name: node, write: (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }),
    onStop: (_name, hook) => void hooks.push(hook),
    hostname: "host-1",
    readTextFile: () => Promise.reject(new Error("no files here")),
    requestStop: () => void stopRequests++,
  });
  if (running.http === undefined) throw new Error("the API is on");
  return { running, base: `http://127.0.0.1:${running.http.port}` };
}

let agent = "";

beforeAll(async () => {
  registry = await startTestRegistry();
  dead = `http://127.0.0.1:${await freePort()}`;
  // The first --server is down: every forwarded request starts there until the client moves on.
  agent = (await runAgent([dead, registry.url], "app-1")).base;
}, 30_000);

afterAll(async () => {
  for (const hook of [...hooks].reverse()) await hook();
  await registry.stop();
});

const put = (url: string, body?: string | object) => fetch(url, { method: "PUT", ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });

interface CheckJson {
  CheckID: string;
  Status: string;
  Output: string;
  ServiceID: string;
}

async function serverChecks(service: string): Promise<CheckJson[]> {
  const response = await fetch(`${registry.url}/v1/health/checks/${service}`);
  expect(response.status).toBe(200);
  return (await response.json()) as CheckJson[];
}

describe("forwarding to the registry servers", () => {
  it("writes and reads KV through the agent, past a dead first server, with the server's X-Consul-* headers", async () => {
    const written = await put(`${agent}/v1/kv/app/config`, "v1");
    expect(written.status).toBe(200);
    expect(await written.text()).toBe("true");
    expect(logLines.some((l) => l["msg"] === "registry server failed; trying the next" && l["server"] === dead)).toBe(true);

    const viaAgent = await fetch(`${agent}/v1/kv/app/config`);
    const direct = await fetch(`${registry.url}/v1/kv/app/config`);
    expect(viaAgent.status).toBe(200);
    const [entry] = (await viaAgent.json()) as { Key: string; Value: string; ModifyIndex: number }[];
    expect(entry?.Key).toBe("app/config");
    expect(Buffer.from(entry?.Value ?? "", "base64").toString()).toBe("v1");
    for (const header of ["x-consul-index", "x-consul-knownleader", "x-consul-lastcontact", "x-consul-effective-consistency", "content-type"]) {
      expect(viaAgent.headers.get(header), header).toBe(direct.headers.get(header));
    }
    expect(viaAgent.headers.get("x-consul-index")).toBe(String(entry?.ModifyIndex));
    await direct.body?.cancel();

    const raw = await fetch(`${agent}/v1/kv/app/config?raw`);
    expect(await raw.text()).toBe("v1");
  });

  it("holds a blocking KV read until a write changes the key", async () => {
    await put(`${agent}/v1/kv/app/blocking`, "before");
    const first = await fetch(`${agent}/v1/kv/app/blocking`);
    const index = Number(first.headers.get("x-consul-index"));
    await first.body?.cancel();
    expect(index).toBeGreaterThan(0);

    let settled = false;
    const blocked = fetch(`${agent}/v1/kv/app/blocking?index=${index}&wait=60s`).then(async (response) => {
      settled = true;
      return { index: Number(response.headers.get("x-consul-index")), body: (await response.json()) as { Value: string }[] };
    });
    // Nothing changed yet: the server keeps the query open (it answers at once only for an older index).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    await put(`${registry.url}/v1/kv/app/blocking`, "after");
    const answer = await blocked;
    expect(answer.index).toBeGreaterThan(index);
    expect(Buffer.from(answer.body[0]?.Value ?? "", "base64").toString()).toBe("after");
  });

  it("passes catalog and health reads through with their X-Consul-Index", async () => {
    const registered = await put(`${registry.url}/v1/catalog/register`, { Node: "db-host", Address: "10.0.0.9", Service: { ID: "db-1", Service: "db", Port: 5432 } });
    expect(registered.status).toBe(200);
    for (const path of ["/v1/catalog/services", "/v1/catalog/service/db", "/v1/health/service/db", "/v1/catalog/nodes"]) {
      const [viaAgent, direct] = await Promise.all([fetch(`${agent}${path}`), fetch(`${registry.url}${path}`)]);
      expect(viaAgent.status, path).toBe(200);
      expect(viaAgent.headers.get("x-consul-index"), path).toBe(direct.headers.get("x-consul-index"));
      expect(await viaAgent.json(), path).toEqual(await direct.json());
    }
    const services = (await (await fetch(`${agent}/v1/catalog/services`)).json()) as Record<string, string[]>;
    expect(Object.keys(services)).toContain("db");
  });

  it("passes a server's 4xx through unchanged", async () => {
    for (const [method, path] of [
      ["PUT", "/v1/kv/app/x?acquire=s&release=s"],
      ["GET", "/v1/kv/app/missing"],
      ["DELETE", "/v1/kv/"],
    ] as const) {
      const [viaAgent, direct] = await Promise.all([fetch(`${agent}${path}`, { method }), fetch(`${registry.url}${path}`, { method })]);
      expect(direct.status, path).toBeGreaterThanOrEqual(400);
      expect(direct.status, path).toBeLessThan(500);
      expect(viaAgent.status, path).toBe(direct.status);
      expect(await viaAgent.text(), path).toBe(await direct.text());
    }
  });

  it("answers Consul's 500 naming every server when none answers", async () => {
    const other = `http://127.0.0.1:${await freePort()}`;
    const lonely = (await runAgent([dead, other], "app-2")).base;
    for (const method of ["GET", "PUT"]) {
      const response = await fetch(`${lonely}/v1/kv/app/config`, { method });
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).toContain("No known Consul servers");
      expect(text).toContain(`${dead}: ECONNREFUSED`);
      expect(text).toContain(`${other}: ECONNREFUSED`);
    }
  });

  it("does not send a write again after a server took it and then failed; a read goes to the next server", async () => {
    // A server that accepts the request and then drops the connection without answering.
    const taken: string[] = [];
    const broken: Server = createServer((socket: Socket) => {
      socket.once("data", (chunk: Buffer) => {
        taken.push(chunk.toString("latin1").split(" ").slice(0, 2).join(" "));
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
    const address = broken.address();
    const brokenUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
    try {
      const viaBroken = (await runAgent([brokenUrl, registry.url], "app-3")).base;
      const write = await put(`${viaBroken}/v1/kv/app/once`, "x");
      expect(write.status).toBe(500);
      expect(await write.text()).toMatch(/not retried elsewhere/);
      expect((await fetch(`${registry.url}/v1/kv/app/once`)).status).toBe(404);
      // The write moved the agent off the broken server; put it first again for the read.
      const readAgent = (await runAgent([brokenUrl, registry.url], "app-4")).base;
      const read = await fetch(`${readAgent}/v1/kv/app/config?raw`);
      expect(read.status).toBe(200);
      expect(await read.text()).toBe("v1");
      expect(taken).toEqual(["PUT /v1/kv/app/once", "GET /v1/kv/app/config?raw"]);
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  it("forwards user events to a server when the agent does not gossip", async () => {
    const fired = await put(`${agent}/v1/event/fire/deploy`, "v2");
    expect(fired.status).toBe(200);
    const event = (await fired.json()) as { ID: string; Name: string; Payload: string };
    expect(event).toMatchObject({ Name: "deploy", Payload: Buffer.from("v2").toString("base64") });
    const listed = (await (await fetch(`${agent}/v1/event/list?name=deploy`)).json()) as { ID: string }[];
    expect(listed.map((e) => e.ID)).toContain(event.ID);
  });
});

describe("the agent's own endpoints", () => {
  it("registers a service with a TTL check and pushes pass/warn/fail/update to the servers at once", async () => {
    expect((await put(`${agent}/v1/agent/service/register`, { Name: "worker", ID: "worker-1", Port: 9000, Check: { TTL: "1m" } })).status).toBe(200);
    expect((await serverChecks("worker")).map((c) => [c.CheckID, c.Status])).toEqual([["service:worker-1", "critical"]]);

    expect((await put(`${agent}/v1/agent/check/pass/service:worker-1?note=all%20good`)).status).toBe(200);
    expect(await serverChecks("worker")).toMatchObject([{ CheckID: "service:worker-1", Status: "passing", Output: "all good", ServiceID: "worker-1" }]);
    expect((await put(`${agent}/v1/agent/check/warn/service:worker-1`)).status).toBe(200);
    expect((await serverChecks("worker"))[0]?.Status).toBe("warning");
    expect((await put(`${agent}/v1/agent/check/fail/service:worker-1?note=down`)).status).toBe(200);
    expect(await serverChecks("worker")).toMatchObject([{ Status: "critical", Output: "down" }]);
    expect((await put(`${agent}/v1/agent/check/update/service:worker-1`, { Status: "passing", Output: "back" })).status).toBe(200);
    expect(await serverChecks("worker")).toMatchObject([{ Status: "passing", Output: "back" }]);

    const local = (await (await fetch(`${agent}/v1/agent/checks`)).json()) as Record<string, CheckJson & { Node: string; ServiceName: string }>;
    expect(local["service:worker-1"]).toMatchObject({ Node: "app-1", Status: "passing", Output: "back", ServiceID: "worker-1", ServiceName: "worker" });

    const unknown = await put(`${agent}/v1/agent/check/pass/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('Unknown check ID "nope"');
    expect((await put(`${agent}/v1/agent/check/update/service:worker-1`, { Status: "sideways" })).status).toBe(400);
  });

  it("registers and deregisters a node check, refusing one of an unknown service", async () => {
    expect((await put(`${agent}/v1/agent/check/register`, { Name: "disk", TTL: "1m", Status: "passing" })).status).toBe(200);
    const node = async () => ((await (await fetch(`${registry.url}/v1/health/node/app-1`)).json()) as CheckJson[]).map((c) => [c.CheckID, c.Status]);
    expect(await node()).toContainEqual(["disk", "passing"]);
    const orphan = await put(`${agent}/v1/agent/check/register`, { Name: "x", TTL: "1m", ServiceID: "ghost" });
    expect(orphan.status).toBe(400);
    expect(await orphan.text()).toContain('ServiceID "ghost" does not exist on this agent');
    expect((await put(`${agent}/v1/agent/check/deregister/disk`)).status).toBe(200);
    expect((await node()).map(([id]) => id)).not.toContain("disk");
    expect((await put(`${agent}/v1/agent/check/deregister/disk`)).status).toBe(404);
  });

  it("answers local service health with Consul's codes: 200 passing, 429 warning, 503 critical, 404 unknown", async () => {
    const byId = async (query = "") => {
      const response = await fetch(`${agent}/v1/agent/health/service/id/worker-1${query}`);
      return { status: response.status, body: await response.text() };
    };
    await put(`${agent}/v1/agent/check/pass/service:worker-1`);
    const passing = await byId();
    expect(passing.status).toBe(200);
    expect(JSON.parse(passing.body)).toMatchObject({ AggregatedStatus: "passing", Service: { ID: "worker-1", Service: "worker", Port: 9000 }, Checks: [{ CheckID: "service:worker-1", Status: "passing" }] });
    expect(await byId("?format=text")).toEqual({ status: 200, body: "passing" });
    await put(`${agent}/v1/agent/check/warn/service:worker-1`);
    expect(await byId("?format=text")).toEqual({ status: 429, body: "warning" });
    await put(`${agent}/v1/agent/check/fail/service:worker-1`);
    expect(await byId("?format=text")).toEqual({ status: 503, body: "critical" });

    const byName = await fetch(`${agent}/v1/agent/health/service/name/worker`);
    expect(byName.status).toBe(503);
    expect(((await byName.json()) as { AggregatedStatus: string }[]).map((s) => s.AggregatedStatus)).toEqual(["critical"]);
    const unknownId = await fetch(`${agent}/v1/agent/health/service/id/nope?format=text`);
    expect([unknownId.status, await unknownId.text()]).toEqual([404, "ServiceId nope not found"]);
    const unknownName = await fetch(`${agent}/v1/agent/health/service/name/nope`);
    expect([unknownName.status, await unknownName.json()]).toEqual([404, []]);

    const service = await fetch(`${agent}/v1/agent/service/worker-1`);
    expect(service.status).toBe(200);
    const definition = (await service.json()) as { ID: string; ContentHash: string };
    expect(definition.ID).toBe("worker-1");
    expect(service.headers.get("x-consul-contenthash")).toBe(definition.ContentHash);
    expect((await fetch(`${agent}/v1/agent/service/nope`)).status).toBe(404);
  });

  it("blocks GET /v1/agent/service/<id>?hash= until a re-registration changes the service (Consul's hash-based blocking)", async () => {
    type Definition = { ID: string; Port: number; ContentHash: string };
    const read = async (query = "") => {
      const response = await fetch(`${agent}/v1/agent/service/blocking-1${query}`);
      return { status: response.status, header: response.headers.get("x-consul-contenthash"), body: response.status === 200 ? ((await response.json()) as Definition) : undefined };
    };
    expect((await put(`${agent}/v1/agent/service/register`, { ID: "blocking-1", Name: "blocking", Port: 7001 })).status).toBe(200);
    const first = await read();
    const hash = first.body?.ContentHash ?? "";
    expect(first.header).toBe(hash);

    // A hash that is not the current one answers at once (the 60 s wait would outlast the test's timeout).
    expect((await read("?hash=not-the-current-one&wait=60s")).body).toMatchObject({ Port: 7001, ContentHash: hash });

    let settled = false;
    const blocked = read(`?hash=${hash}&wait=60s`).finally(() => (settled = true));
    // A read of something else in between: the blocking one is still waiting afterwards.
    expect((await read()).body?.ContentHash).toBe(hash);
    expect(settled).toBe(false);
    expect((await put(`${agent}/v1/agent/service/register`, { ID: "blocking-1", Name: "blocking", Port: 7002 })).status).toBe(200);
    const changed = await blocked;
    expect(changed.body?.Port).toBe(7002);
    expect(changed.body?.ContentHash).not.toBe(hash);
    expect(changed.header).toBe(changed.body?.ContentHash);

    // Nothing changes: after ?wait it answers the same hash.
    const current = changed.body?.ContentHash ?? "";
    const unchanged = await read(`?hash=${current}&wait=100ms`);
    expect(unchanged.body).toMatchObject({ Port: 7002, ContentHash: current });

    // The service deregistered while a read blocks on it: 404.
    const gone = read(`?hash=${current}&wait=60s`);
    expect((await put(`${agent}/v1/agent/service/deregister/blocking-1`)).status).toBe(200);
    expect((await gone).status).toBe(404);
  });

  it("puts a service and the node in and out of maintenance, as the servers' catalog shows", async () => {
    await put(`${agent}/v1/agent/check/pass/service:worker-1`);
    const passingInstances = async () => ((await (await fetch(`${registry.url}/v1/health/service/worker?passing`)).json()) as unknown[]).length;
    expect(await passingInstances()).toBe(1);

    expect((await put(`${agent}/v1/agent/service/maintenance/worker-1?enable=true&reason=deploying`)).status).toBe(200);
    expect(await serverChecks("worker")).toContainEqual(expect.objectContaining({ CheckID: "_service_maintenance:worker-1", Status: "critical", Output: "deploying" }));
    expect(await passingInstances()).toBe(0);
    const inMaintenance = await fetch(`${agent}/v1/agent/health/service/id/worker-1?format=text`);
    expect([inMaintenance.status, await inMaintenance.text()]).toEqual([503, "maintenance"]);
    expect((await put(`${agent}/v1/agent/service/maintenance/worker-1?enable=false`)).status).toBe(200);
    expect((await serverChecks("worker")).map((c) => c.CheckID)).toEqual(["service:worker-1"]);
    expect(await passingInstances()).toBe(1);

    expect((await put(`${agent}/v1/agent/maintenance?enable=true`)).status).toBe(200);
    const nodeChecks = (await (await fetch(`${registry.url}/v1/health/node/app-1`)).json()) as CheckJson[];
    expect(nodeChecks).toContainEqual(expect.objectContaining({ CheckID: "_node_maintenance", Status: "critical", Output: expect.stringContaining("no reason was provided") }));
    expect(await passingInstances()).toBe(0);
    expect((await put(`${agent}/v1/agent/maintenance?enable=false`)).status).toBe(200);
    expect(await passingInstances()).toBe(1);

    expect((await put(`${agent}/v1/agent/service/maintenance/ghost?enable=true`)).status).toBe(404);
    const missing = await put(`${agent}/v1/agent/maintenance`);
    expect([missing.status, await missing.text()]).toEqual([400, "Missing value for enable: PUT /v1/agent/maintenance?enable=true|false&reason=..."]);
  });

  it("refuses join without gossip, naming the flag, and stops gracefully on leave", async () => {
    const join = await put(`${agent}/v1/agent/join/127.0.0.1:8301`);
    expect(join.status).toBe(400);
    expect(await join.text()).toMatch(/does not gossip: start it with --gossip-port/);
    expect((await fetch(`${agent}/v1/agent/leave`)).status).toBe(405);
    expect((await fetch(`${agent}/v1/agent/unknown`)).status).toBe(404);
    const leave = await put(`${agent}/v1/agent/leave`);
    expect(leave.status).toBe(200);
    await eventually("the stop request", () => stopRequests === 1, { timeoutMs: 5_000, intervalMs: 20 });
  });
});

describe("a gossiping agent", () => {
  it("joins the pool on PUT /v1/agent/join, fires user events through its own member and lists those it saw", { timeout: 30_000 }, async () => {
    const seedEvents: string[] = [];
    const seed = await startGossip({
      name: "seed",
      bindHost: "127.0.0.1",
      port: 0,
      advertiseHost: "127.0.0.1",
      tags: { role: "server" },
      join: [],
      retryIntervalMs: 1_000,
      keys: [],
      settings: { probeIntervalMs: 1_000, probeTimeoutMs: 500 },
      onEvent: (event) => {
        if (event.type === "user-event-received") seedEvents.push(event.name);
      },
    });
    hooks.push(() => seed.close());
    const read = readSettings(agentSettings, { argv: ["--server", registry.url, "--node", "gossiper", "--http-port", "0", "--gossip-port", "0", "--gossip-probe-interval-ms", "1000"], env: {} });
    if (read.type !== "settings") throw new Error(`agent settings: ${JSON.stringify(read)}`);
    const running = await startAgent(read.settings, {
      logger: createLogger({ name: "gossiper", write: () => undefined }),
      onStop: (_name, hook) => void hooks.push(hook),
      hostname: "host-1",
      readTextFile: () => Promise.reject(new Error("no files here")),
    });
    const base = `http://127.0.0.1:${running.http?.port ?? 0}`;

    expect((await put(`${base}/v1/agent/join/not-an-address`)).status).toBe(400);
    expect((await put(`${base}/v1/agent/join/${seed.address}`)).status).toBe(200);
    await eventually("the seed to see the agent", () => seed.core.member("gossiper")?.state === "alive", { timeoutMs: 10_000, intervalMs: 50 });
    const members = await eventually("two members at the agent", async () => {
      const list = (await (await fetch(`${base}/v1/agent/members`)).json()) as { Name: string }[];
      return list.length === 2 ? list.map((m) => m.Name) : undefined;
    });
    expect(members.sort()).toEqual(["gossiper", "seed"]);

    const fired = await put(`${base}/v1/event/fire/reload`, "now");
    expect(fired.status).toBe(200);
    const { ID } = (await fired.json()) as { ID: string };
    const listed = await eventually("the event in the agent's list", async () => {
      const events = (await (await fetch(`${base}/v1/event/list`)).json()) as { ID: string; Name: string; LTime: number }[];
      return events.length > 0 ? events : undefined;
    });
    expect(listed).toMatchObject([{ ID, Name: "reload" }]);
    expect(listed[0]?.LTime).toBeGreaterThan(0);
    // It went into the gossip pool (the other member got it), not to a server.
    await eventually("the event at the seed", () => seedEvents.includes("consul:event:reload"), { timeoutMs: 10_000, intervalMs: 50 });
    expect(await (await fetch(`${registry.url}/v1/event/list?name=reload`)).json()).toEqual([]);

    // force-leave of a live member is accepted (Consul answers 200) and changes nothing: it is not failed.
    const forceLeave = await put(`${base}/v1/agent/force-leave/seed`);
    expect(forceLeave.status).toBe(200);
    const seedState = ((await (await fetch(`${base}/v1/agent/members`)).json()) as { Name: string; Status: number }[]).find((m) => m.Name === "seed");
    expect(seedState?.Status).toBe(1);
    expect((await put(`${base}/v1/agent/force-leave/nobody`)).status).toBe(404);
  });
});
