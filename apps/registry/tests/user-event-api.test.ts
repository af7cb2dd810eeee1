// /v1/event/fire and /v1/event/list over real sockets (the single-replica fixture, no gossip
// pool: events reach this agent only): Consul's JSON, filters against this agent's node and
// services, X-Consul-Index from the newest event's id, blocking on ?index, Consul's errors.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { eventIndex } from "../src/events/event-index.ts";
import { type HttpApi, startHttpApi } from "../src/http/start-http-api.ts";
import { type ConsulAnswer, consulClient } from "./support/consul-client.ts";
import { SingleReplicaServer } from "./support/single-replica-server.ts";

let api: HttpApi;
let consul: (method: string, path: string, body?: unknown) => Promise<ConsulAnswer>;

beforeEach(async () => {
  api = await startHttpApi(new SingleReplicaServer(), { port: 0, host: "127.0.0.1", agent: { nodeName: "node-1", address: "127.0.0.1" } });
  consul = consulClient(api.port);
});

afterEach(async () => {
  await api.close();
});

interface EventJson {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

async function fire(path: string, body?: string): Promise<EventJson> {
  const answer = await consul("PUT", `/v1/event/fire/${path}`, body);
  expect(answer.status, answer.text).toBe(200);
  return answer.json as EventJson;
}

describe("user events", () => {
  it("fires an event and lists it, in Consul's shape, with X-Consul-Index from its id", async () => {
    const empty = await consul("GET", "/v1/event/list");
    expect([empty.status, empty.json, empty.headers.get("x-consul-index")]).toEqual([200, [], "1"]);
    const fired = await fire("deploy?node=node-", "v2");
    expect(fired).toEqual({ ID: expect.stringMatching(/^[0-9a-f-]{36}$/), Name: "deploy", Payload: Buffer.from("v2").toString("base64"), NodeFilter: "node-", ServiceFilter: "", TagFilter: "", Version: 1, LTime: 0 });
    const list = await consul("GET", "/v1/event/list");
    expect(list.json).toEqual([{ ...fired, LTime: 1 }]);
    expect(list.headers.get("x-consul-index")).toBe(eventIndex(fired.ID).toString());
    const second = await fire("restart");
    expect(second.Payload).toBeNull();
    const both = await consul("GET", "/v1/event/list");
    expect((both.json as EventJson[]).map((e) => [e.Name, e.LTime])).toEqual([
      ["deploy", 1],
      ["restart", 2],
    ]);
    expect(both.headers.get("x-consul-index")).toBe(eventIndex(second.ID).toString());
    const named = await consul("GET", "/v1/event/list?name=deploy");
    expect((named.json as EventJson[]).map((e) => e.ID)).toEqual([fired.ID]);
    expect(named.headers.get("x-consul-index")).toBe(eventIndex(fired.ID).toString());
    expect((await fire("team/a/deploy")).Name).toBe("team/a/deploy");
  });

  it("keeps only events whose filters match this agent's node and services", async () => {
    expect((await consul("PUT", "/v1/agent/service/register", { ID: "web-1", Name: "web", Tags: ["primary"], Port: 80 })).status).toBe(200);
    await fire("a?node=^other$");
    await fire("b?service=^db$");
    await fire("c?service=web&tag=^canary$");
    await fire("d?node=^node-1$&service=web&tag=prim");
    expect(((await consul("GET", "/v1/event/list")).json as EventJson[]).map((e) => e.Name)).toEqual(["d"]);
  });

  it("blocks a list on ?index until another event arrives, and answers the same index when ?wait runs out", async () => {
    const first = await fire("one");
    const index = eventIndex(first.ID).toString();
    const waits = vi.spyOn(api.events, "waitForEvent");
    const blocked = consul("GET", `/v1/event/list?index=${index}&wait=60s`);
    while (waits.mock.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const second = await fire("two");
    const woken = await blocked;
    expect(woken.headers.get("x-consul-index")).toBe(eventIndex(second.ID).toString());
    expect((woken.json as EventJson[]).map((e) => e.Name)).toEqual(["one", "two"]);
    // A list filtered by name stays blocked by events of other names: its index does not change.
    const filteredIndex = eventIndex(first.ID).toString();
    const timedOut = await consul("GET", `/v1/event/list?name=one&index=${filteredIndex}&wait=20ms`);
    expect(timedOut.headers.get("x-consul-index")).toBe(filteredIndex);
  });

  it("answers Consul's errors", async () => {
    expect(await consul("PUT", "/v1/event/fire/")).toMatchObject({ status: 400, text: "Missing name" });
    expect(await consul("PUT", "/v1/event/fire/x?tag=v1")).toMatchObject({ status: 500, text: expect.stringMatching(/^Cannot provide tag filter without service filter/) });
    expect(await consul("PUT", "/v1/event/fire/x?node=(")).toMatchObject({ status: 500, text: expect.stringMatching(/^Invalid node filter: error parsing regexp/) });
    expect(await consul("PUT", "/v1/event/fire/x", "p".repeat(600))).toMatchObject({ status: 500, text: expect.stringMatching(/^user event exceeds configured limit of 512 bytes/) });
    expect(await consul("GET", "/v1/event/fire/x")).toMatchObject({ status: 405 });
    expect(await consul("PUT", "/v1/event/list")).toMatchObject({ status: 405 });
    expect(await consul("GET", "/v1/event/list?index=-1")).toMatchObject({ status: 400, text: expect.stringContaining("?index") });
    expect(await consul("GET", "/v1/event/nope")).toMatchObject({ status: 404 });
    expect((await consul("GET", "/v1/event/list")).json).toEqual([]);
  });
});
