// `meshwork-registry agent --http-port` as a real child process against a real one-node registry
// (in-process startRegistry): a KV write and read through the agent's port reach the server, and
// PUT /v1/agent/leave stops the process as SIGTERM does — its service deregistered, exit code 0.
import { join } from "node:path";
import { eventually, freePort, ProcessGroup } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "./support/start-test-registry.ts";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
let registry: TestRegistry;

beforeAll(async () => {
  registry = await startTestRegistry();
}, 30_000);

afterAll(async () => {
  await processes.killAll();
  await registry.stop();
});

describe("the agent process's Consul API", () => {
  it("forwards KV to the servers and leaves on PUT /v1/agent/leave", async () => {
    const port = await freePort();
    const agent = processes.startSource("src/main.ts", ["agent", "--server", registry.url, "--node", "worker-9", "--http-port", String(port), "--service", "web:8080"], { cwd: projectRoot, name: "agent" });
    const base = `http://127.0.0.1:${port}`;
    const registered = async () => ((await (await fetch(`${registry.url}/v1/catalog/service/web`)).json()) as { Node: string }[]).map((s) => s.Node);
    await eventually("the service on the server", async () => ((await registered()).includes("worker-9") ? true : undefined), { timeoutMs: 20_000, context: () => processes.tails() });

    const written = await fetch(`${base}/v1/kv/team/owner`, { method: "PUT", body: "payments" });
    expect([written.status, await written.text()]).toEqual([200, "true"]);
    expect(await (await fetch(`${registry.url}/v1/kv/team/owner?raw`)).text()).toBe("payments");
    expect(await (await fetch(`${base}/v1/kv/team/owner?raw`)).text()).toBe("payments");

    const leave = await fetch(`${base}/v1/agent/leave`, { method: "PUT" });
    expect(leave.status).toBe(200);
    expect(await agent.exit).toBe(0);
    expect(await registered()).toEqual([]);
    expect(agent.lines().some((l) => l["msg"] === "leave requested through the agent API; stopping")).toBe(true);
  }, 40_000);
});
