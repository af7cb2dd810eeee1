// `meshwork-registry agent` as a real child process against a real one-node registry (in-process
// startRegistry): it registers a service with an HTTP check on a test server through the servers'
// Consul HTTP API (the first --server is dead: failover), the check turns passing, stopping the test
// server turns the instance critical in /v1/health/service/<name>, and SIGTERM deregisters it.
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { freePort, ProcessGroup } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "./support/start-test-registry.ts";

const projectRoot = join(import.meta.dirname, "..");
let registry: TestRegistry;
let app: Server;
let appPort = 0;
const processes = new ProcessGroup();

beforeAll(async () => {
  registry = await startTestRegistry();
  app = createServer((_request, response) => response.end("ok"));
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  const address = app.address();
  appPort = typeof address === "object" && address !== null ? address.port : 0;
});

afterAll(async () => {
  await processes.killAll();
  app.closeAllConnections();
  await new Promise((resolve) => app.close(resolve));
  await registry.stop();
});

const runAgent = (args: readonly string[]) => processes.startSource("src/main.ts", ["agent", ...args], { cwd: projectRoot, name: "agent" });

interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Port: number; Tags: string[] };
  Checks: { CheckID: string; Status: string; Output: string; ServiceID: string }[];
}

async function health(name: string): Promise<HealthEntry[]> {
  const response = await fetch(`${registry.url}/v1/health/service/${name}`);
  expect(response.status).toBe(200);
  return (await response.json()) as HealthEntry[];
}

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("registry agent process", () => {
  it("registers, reports check changes, and deregisters on SIGTERM", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const agent = runAgent([
      "--server", dead, "--server", registry.url,
      "--node", "worker-1", "--address", "127.0.0.1", "--node-meta", "zone=a",
      "--service", `web:${appPort}`, "--check", `http://127.0.0.1:${appPort}/healthz`, "--check-interval", "200ms",
    ]);

    const passing = await eventually("a passing instance", () => health("web"), (entries) => entries[0]?.Checks.some((c) => c.CheckID === "service:web" && c.Status === "passing") === true);
    expect(passing).toHaveLength(1);
    expect(passing[0]).toMatchObject({ Node: { Node: "worker-1", Address: "127.0.0.1" }, Service: { ID: "web", Service: "web", Port: appPort } });
    expect(passing[0]?.Checks.find((c) => c.CheckID === "service:web")).toMatchObject({ ServiceID: "web", Output: expect.stringContaining("200 OK") });
    expect(agent.lines().some((l) => l["msg"] === "registry server failed; trying the next" && l["server"] === dead)).toBe(true);

    // The workload dies: the agent's next check run marks the instance critical.
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
    const critical = await eventually("a critical instance", () => health("web"), (entries) => entries[0]?.Checks.some((c) => c.CheckID === "service:web" && c.Status === "critical") === true);
    expect(critical[0]?.Checks.find((c) => c.CheckID === "service:web")?.Output).toMatch(/ECONNREFUSED|connect/i);
    const passingOnly = await fetch(`${registry.url}/v1/health/service/web?passing`);
    expect(await passingOnly.json()).toEqual([]);

    agent.child.kill("SIGTERM");
    expect(await agent.exit).toBe(0);
    expect(await health("web")).toEqual([]);
    expect(agent.lines().some((l) => l["msg"] === "deregistered service" && l["serviceId"] === "web")).toBe(true);
  }, 40_000);

  it("exits 2 naming the flag when there is nothing to register or a --check has no --service", async () => {
    const none = runAgent(["--server", registry.url]);
    expect(await none.exit).toBe(2);
    expect(none.output()).toContain("nothing to register");
    const bad = runAgent(["--server", registry.url, "--service", "web", "--check", "http://127.0.0.1:1/"]);
    expect(await bad.exit).toBe(2);
    expect(bad.lines().find((l) => l["level"] === "error")?.["msg"]).toBe('invalid --service "web": use NAME:PORT, e.g. web:8080 (port 1-65535)');
  }, 30_000);
});
