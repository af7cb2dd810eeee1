// startAgentRegistration against a small HTTP server speaking the part of Consul's agent API it
// uses (register, services, deregister); the real agent is in registry-agent-processes.test.ts.
import { createServer, type Server } from "node:http";
import { createLogger } from "@meshwork/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import { parseAgentUrl, startAgentRegistration } from "./agent-registration.ts";
import { workloadRegistration } from "./workload-registration.ts";

const logger = createLogger({ name: "sidecar", write: () => undefined });
const service = workloadRegistration({ workloadName: "web-1", namespace: "default", labels: { app: "web" }, bind: "127.0.0.1", inboundPort: 15006, statsPort: 15020 });

interface FakeAgent {
  readonly url: string;
  readonly requests: { method: string; path: string; body: string }[];
  services: Map<string, unknown>;
  failRegistrations: number;
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function fakeAgent(): Promise<FakeAgent> {
  const agent: FakeAgent = { url: "", requests: [], services: new Map(), failRegistrations: 0 };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const path = req.url ?? "/";
      agent.requests.push({ method: req.method ?? "", path, body });
      if (req.method === "PUT" && path === "/v1/agent/service/register") {
        if (agent.failRegistrations > 0) {
          agent.failRegistrations--;
          res.writeHead(500).end("no leader");
          return;
        }
        const definition = JSON.parse(body) as { ID: string };
        agent.services.set(definition.ID, definition);
        res.writeHead(200).end();
      } else if (req.method === "PUT" && path.startsWith("/v1/agent/service/deregister/")) {
        const id = decodeURIComponent(path.slice("/v1/agent/service/deregister/".length));
        res.writeHead(agent.services.delete(id) ? 200 : 404).end();
      } else if (req.method === "GET" && path === "/v1/agent/services") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Object.fromEntries(agent.services)));
      } else res.writeHead(404).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return Object.assign(agent, { url: `http://127.0.0.1:${address.port}` });
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(ok()).toBe(true);
}

describe("startAgentRegistration", () => {
  it("waits until the sidecar is ready, registers the service, and deregisters it on stop", async () => {
    const agent = await fakeAgent();
    let ready = false;
    const registration = startAgentRegistration({ agentUrl: agent.url, service, isReady: () => ready, logger, readyPollMs: 5, verifyIntervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(agent.requests).toEqual([]);
    ready = true;
    await until(() => registration.registered);
    expect(agent.requests[0]).toMatchObject({ method: "PUT", path: "/v1/agent/service/register" });
    expect(JSON.parse(agent.requests[0]?.body ?? "{}")).toEqual(service);
    await registration.stop();
    expect(agent.requests.at(-1)).toMatchObject({ method: "PUT", path: "/v1/agent/service/deregister/web-1" });
    expect(agent.services.size).toBe(0);
    expect(registration.registered).toBe(false);
  });

  it("retries a refused registration, and registers again when the agent lost it (an agent restart)", async () => {
    const agent = await fakeAgent();
    agent.failRegistrations = 1;
    const registration = startAgentRegistration({ agentUrl: agent.url, service, isReady: () => true, logger, readyPollMs: 5, verifyIntervalMs: 20 });
    await until(() => registration.registered);
    expect(agent.requests.filter((r) => r.path === "/v1/agent/service/register")).toHaveLength(2);
    agent.services.clear();
    await until(() => agent.services.has("web-1"));
    expect(agent.requests.filter((r) => r.path === "/v1/agent/service/register")).toHaveLength(3);
    await registration.stop();
  });

  it("never registered, it sends no deregistration on stop", async () => {
    const agent = await fakeAgent();
    const registration = startAgentRegistration({ agentUrl: agent.url, service, isReady: () => false, logger, readyPollMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await registration.stop();
    expect(agent.requests).toEqual([]);
  });

  it("refuses a --registry-agent that is not an http(s) address without a path", () => {
    expect(parseAgentUrl("http://127.0.0.1:8500/")).toBe("http://127.0.0.1:8500");
    expect(() => parseAgentUrl("127.0.0.1:8500")).toThrow(/not a URL|without a path/);
    expect(() => parseAgentUrl("http://127.0.0.1:8500/v1/agent")).toThrow('--registry-agent "http://127.0.0.1:8500/v1/agent": give the agent\'s HTTP address without a path, e.g. http://127.0.0.1:8500');
  });
});
