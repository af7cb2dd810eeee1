// The agent's local HTTP API through startAgent (--http-port 0, --gossip-port 0, --datacenter):
// self and members in Consul's shape with the datacenter in the gossip tags, /metrics with the
// gossip series, and service register/deregister reaching the servers as catalog writes. The
// registry servers' HTTP API is a fake fetch here; a real gossip member on loopback is the pool.
import { readSettings } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { afterAll, describe, expect, it } from "vitest";
import { startGossip } from "../gossip/start-gossip.ts";
import type { RunningGossip } from "../gossip/start-gossip.ts";
import { AgentSettingsError } from "./agent-services.ts";
import { agentSettings } from "./agent-settings.ts";
import type { FetchFn } from "./registry-client.ts";
import { startAgent } from "./start-agent.ts";

const hooks: (() => Promise<void> | void)[] = [];
const opened: RunningGossip[] = [];
afterAll(async () => {
  for (const hook of [...hooks].reverse()) await hook();
  await Promise.all(opened.map((g) => g.close()));
});

function config(argv: readonly string[]) {
  const read = readSettings(agentSettings, { argv: ["--server", "http://registry:8500", "--node", "app-1", ...argv], env: {} });
  if (read.type !== "settings") throw new Error(`agent settings: ${JSON.stringify(read)}`);
  return read.settings;
}

const calls: { path: string; body: Record<string, unknown> }[] = [];
const serverFetch: FetchFn = async (url, init) => {
  calls.push({ path: new URL(url).pathname, body: JSON.parse(String(init.body)) as Record<string, unknown> });
  return new Response("true");
};
const deps = {
  logger: createLogger({ name: "agent", write: () => undefined }),
  onStop: (_name: string, hook: () => Promise<void> | void) => void hooks.push(hook),
  hostname: "host-1",
  readTextFile: () => Promise.reject(new Error("no files here")),
  fetch: serverFetch,
  // No real network probes of the registered services' checks.
  probes: { http: async () => ({ status: "passing" as const, output: "ok" }), tcp: async () => ({ status: "passing" as const, output: "ok" }), grpc: async () => ({ status: "passing" as const, output: "ok" }) },
};

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 200 && !ok(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

describe("the agent's HTTP API", () => {
  it("refuses a bad --datacenter and an agent with nothing to register and no API, naming the flags", async () => {
    await expect(startAgent(config(["--datacenter", "eu west"]), deps)).rejects.toThrow(new AgentSettingsError('--datacenter "eu west": use only letters, digits, _ and - (Consul\'s rule), e.g. dc1 or eu-west-1'));
    await expect(startAgent(config([]), deps)).rejects.toThrow(/nothing to register: .* or serve the agent API \(--http-port\)/);
  });

  it("serves self, members and /metrics of its gossip pool, and registers and deregisters services on the servers", { timeout: 30_000 }, async () => {
    const seed = await startGossip({ name: "n1", bindHost: "127.0.0.1", port: 0, advertiseHost: "127.0.0.1", tags: { role: "server", dc: "eu-1" }, join: [], retryIntervalMs: 1_000, keys: [], settings: { probeIntervalMs: 1_000, probeTimeoutMs: 500 } });
    opened.push(seed);
    const { http, gossip } = await startAgent(
      config(["--http-port", "0", "--datacenter", "eu-1", "--gossip-port", "0", "--retry-join", seed.address, "--retry-interval-ms", "200", "--gossip-probe-interval-ms", "1000"]),
      deps,
    );
    if (http === undefined || gossip === undefined) throw new Error("the API and gossip are on");
    const base = `http://127.0.0.1:${http.port}`;
    const get = async (path: string) => {
      const response = await fetch(`${base}${path}`);
      return { status: response.status, text: await response.text() };
    };

    const members = await until(async () => JSON.parse((await get("/v1/agent/members")).text) as { Name: string; Status: number; Tags: Record<string, string> }[], (m) => m.length === 2);
    expect(members.map((m) => [m.Name, m.Status, m.Tags["dc"], m.Tags["role"]])).toEqual([
      ["app-1", 1, "eu-1", "client"],
      ["n1", 1, "eu-1", "server"],
    ]);
    const self = JSON.parse((await get("/v1/agent/self")).text) as { Config: Record<string, unknown>; Member: { Name: string; Port: number; Tags: Record<string, string> } };
    expect(self.Config).toMatchObject({ Datacenter: "eu-1", NodeName: "app-1", Server: false });
    expect(self.Member).toMatchObject({ Name: "app-1", Port: Number(gossip.address.split(":")[1]), Tags: { dc: "eu-1", role: "client" } });

    // Slow probes (1 s, ack timeout 500 ms) so that a busy host does not make the two suspect each other.
    const metrics = await until(() => get("/metrics"), (m) => /consul_memberlist_udp_sent [1-9]/.test(m.text) && m.text.includes('consul_memberlist_node_instances{node_state="alive"} 2'));
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('consul_memberlist_node_instances{node_state="alive"} 2');
    expect(metrics.text).toMatch(/consul_serf_member_join 1\b/);
    expect(metrics.text).toContain("consul_memberlist_health_score");
    expect((await get("/v1/agent/metrics?format=prometheus")).text).toContain("consul_memberlist_node_instances");
    expect((await get("/v1/agent/metrics")).status).toBe(400);

    const put = (path: string, body?: unknown) => fetch(`${base}${path}`, { method: "PUT", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const registered = await put("/v1/agent/service/register", {
      Name: "reviews",
      ID: "reviews-v1-0",
      Port: 15006,
      Tags: ["v1"],
      Meta: { app: "reviews", namespace: "default" },
      Check: { HTTP: "http://127.0.0.1:15020/healthz/ready", Interval: "5s", DeregisterCriticalServiceAfter: "1m" },
    });
    expect(registered.status).toBe(200);
    const register = calls.findLast((c) => c.path === "/v1/catalog/register" && c.body["Service"] !== undefined);
    expect(register?.body).toMatchObject({
      Node: "app-1",
      Service: { ID: "reviews-v1-0", Service: "reviews", Port: 15006, Tags: ["v1"], Meta: { app: "reviews", namespace: "default" } },
      Checks: [{ CheckID: "service:reviews-v1-0", ServiceID: "reviews-v1-0", Definition: { HTTP: "http://127.0.0.1:15020/healthz/ready", Interval: "5s", DeregisterCriticalServiceAfter: "1m0s" } }],
    });
    // The check runs here: its first result reaches the servers as a catalog register of the check.
    await until(async () => calls.some((c) => (c.body["Check"] as { CheckID?: string; Status?: string } | undefined)?.Status === "passing"), (found) => found);
    expect(Object.keys(JSON.parse((await get("/v1/agent/services")).text) as Record<string, unknown>)).toEqual(["reviews-v1-0"]);

    expect((await put("/v1/agent/service/register", { Port: 1 })).status).toBe(400);
    expect(await (await put("/v1/agent/service/deregister/nope")).text()).toMatch(/Unknown service ID "nope"/);
    expect((await put("/v1/agent/service/deregister/reviews-v1-0")).status).toBe(200);
    expect(calls.at(-1)).toEqual({ path: "/v1/catalog/deregister", body: { Node: "app-1", ServiceID: "reviews-v1-0" } });
    expect((await get("/v1/agent/services")).text).toBe("{}");
    expect((await get("/v1/agent/nothing")).status).toBe(404);
  });
});
