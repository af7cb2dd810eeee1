// startAgent's gossip part: settings errors name the flag, and with --gossip-port the agent is a
// role=client member named after its node, joined to a real gossip member on loopback; its stop
// hooks deregister the services first and then leave the pool. The registry servers' HTTP API is a
// fake fetch here (tests/agent-gossip.test.ts runs the real processes).
import { readSettings } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { afterAll, describe, expect, it } from "vitest";
import { startGossip } from "../gossip/start-gossip.ts";
import type { RunningGossip } from "../gossip/start-gossip.ts";
import { AgentSettingsError } from "./agent-services.ts";
import { agentSettings } from "./agent-settings.ts";
import type { FetchFn } from "./registry-client.ts";
import { startAgent } from "./start-agent.ts";

const opened: RunningGossip[] = [];
afterAll(async () => {
  await Promise.all(opened.map((g) => g.close()));
});

function config(argv: readonly string[]) {
  const read = readSettings(agentSettings, { argv: ["--server", "http://registry:8500", "--service", "web:8080", "--node", "app-1", ...argv], env: {} });
  if (read.type !== "settings") throw new Error(`agent settings: ${JSON.stringify(read)}`);
  return read.settings;
}

function deps() {
  const calls: { path: string; body: Record<string, unknown> }[] = [];
  const hooks: { name: string; hook: () => Promise<void> | void }[] = [];
  const fetch: FetchFn = async (url, init) => {
    calls.push({ path: new URL(url).pathname, body: JSON.parse(String(init.body)) as Record<string, unknown> });
    return new Response("true");
  };
  return {
    calls,
    hooks,
    /** Runs the hooks as runUntilStopped does: in reverse order of registration. */
    stop: async () => {
      for (const { hook } of [...hooks].reverse()) await hook();
    },
    deps: {
      logger: createLogger({ name: "agent", write: () => undefined }),
      onStop: (name: string, hook: () => Promise<void> | void) => void hooks.push({ name, hook }),
      hostname: "host-1",
      readTextFile: () => Promise.reject(new Error("no files here")),
      fetch,
    },
  };
}

describe("startAgent with gossip", () => {
  it("refuses gossip keys or --retry-join without --gossip-port, and a bad key, naming the flag", async () => {
    await expect(startAgent(config(["--gossip-key", Buffer.alloc(32).toString("base64")]), deps().deps)).rejects.toThrow(new AgentSettingsError("--gossip-key / --gossip-keyring-file need gossip on: set --gossip-port (8301 in Consul, 0 picks one)"));
    await expect(startAgent(config(["--retry-join", "127.0.0.1:8301"]), deps().deps)).rejects.toThrow(/--retry-join needs gossip on/);
    await expect(startAgent(config(["--gossip-port", "0", "--gossip-key", "c2hvcnQ="]), deps().deps)).rejects.toThrow(AgentSettingsError);
    await expect(startAgent(config(["--gossip-port", "0", "--retry-join", "10.0.0.5"]), deps().deps)).rejects.toThrow('--retry-join "10.0.0.5" is not HOST:PORT of a gossip member, e.g. 10.0.0.5:8301');
  });

  it("does not gossip by default", async () => {
    const run = deps();
    const { gossip } = await startAgent(config([]), run.deps);
    expect(gossip).toBeUndefined();
    expect(run.hooks.map((h) => h.name)).toEqual(["registry agent (deregister services)"]);
    await run.stop();
  });

  it("joins as a role=client member named after its node; stopping deregisters the services, then leaves", { timeout: 30_000 }, async () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const seed = await startGossip({ name: "n1", bindHost: "127.0.0.1", port: 0, advertiseHost: "127.0.0.1", tags: { role: "server" }, join: [], retryIntervalMs: 1_000, keys: [key], settings: { probeIntervalMs: 100, probeTimeoutMs: 50 } });
    opened.push(seed);
    const run = deps();
    const { gossip } = await startAgent(config(["--gossip-port", "0", "--retry-join", seed.address, "--retry-interval-ms", "200", "--gossip-key", key, "--gossip-probe-interval-ms", "100"]), run.deps);
    if (gossip === undefined) throw new Error("gossip is on");
    opened.push(gossip);
    expect(gossip.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(run.hooks.map((h) => h.name)).toEqual(["gossip (graceful leave)", "registry agent (deregister services)"]);
    for (let i = 0; i < 200 && seed.core.member("app-1")?.state !== "alive"; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seed.core.member("app-1")).toMatchObject({ state: "alive", address: gossip.address, tags: { role: "client", id: "app-1", dc: "dc1" } });
    expect(run.calls[0]).toMatchObject({ path: "/v1/catalog/register", body: { Node: "app-1", Address: "127.0.0.1" } });

    let deregisteredWhileAlive: boolean | undefined;
    const deregister = run.hooks[1];
    if (deregister === undefined) throw new Error("two hooks");
    run.hooks[1] = {
      name: deregister.name,
      hook: async () => {
        await deregister.hook();
        deregisteredWhileAlive = gossip.core.member("app-1")?.state === "alive";
      },
    };
    await run.stop();
    expect(run.calls.at(-1)).toMatchObject({ path: "/v1/catalog/deregister", body: { Node: "app-1", ServiceID: "web" } });
    expect(deregisteredWhileAlive).toBe(true);
    for (let i = 0; i < 200 && seed.core.member("app-1")?.state !== "left"; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seed.core.member("app-1")?.state).toBe("left");
  });
});
