import { createLogger } from "@meshwork/telemetry";
import { describe, expect, it } from "vitest";
import type { Probes } from "../agent/check-runner.ts";
import type { ProbeResult } from "../agent/probe-result.ts";
import { servicesFromFlags } from "./agent-services.ts";
import { RegistryAgent, encodeCatalogCheck } from "./registry-agent.ts";

const logger = createLogger({ name: "agent", write: () => undefined });

function setup(probe: () => ProbeResult) {
  const puts: { path: string; body: Record<string, unknown> }[] = [];
  let fail = false;
  const client = {
    put: async (path: string, body: unknown) => {
      if (fail) throw new Error("no registry server accepted the request");
      puts.push({ path, body: body as Record<string, unknown> });
      return "true";
    },
  };
  const probes: Probes = { http: async () => probe(), tcp: async () => probe(), grpc: async () => probe() };
  const agent = new RegistryAgent({
    node: "w1",
    address: "10.0.0.5",
    nodeMeta: { zone: "a" },
    services: servicesFromFlags(["web:8080"], ["http://127.0.0.1:8080/healthz"], 60_000, undefined),
    client,
    syncIntervalMs: 60_000,
    logger,
    probes,
  });
  return { agent, puts, setFail: (value: boolean) => void (fail = value) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("RegistryAgent", () => {
  it("registers the service with its check, then pushes the first check result as a catalog register", async () => {
    const { agent, puts } = setup(() => ({ status: "passing", output: "HTTP GET http://127.0.0.1:8080/healthz: 200 OK Output: ok" }));
    await agent.start();
    await settle();
    expect(puts[0]).toEqual({
      path: "/v1/catalog/register",
      body: {
        Node: "w1",
        Address: "10.0.0.5",
        NodeMeta: { zone: "a" },
        Service: { ID: "web", Service: "web", Address: "", Port: 8080, Tags: [], Meta: {} },
        Checks: [{ CheckID: "service:web", Name: "Service 'web' check", ServiceID: "web", Status: "critical", Output: "", Definition: { HTTP: "http://127.0.0.1:8080/healthz", Interval: "1m0s" } }],
      },
    });
    expect(puts[1]?.body).toMatchObject({ Node: "w1", Check: { CheckID: "service:web", Status: "passing", Definition: { HTTP: "http://127.0.0.1:8080/healthz" } } });
    // A re-registration (anti-entropy) carries the status the registry last accepted, not the initial one.
    await agent.sync();
    expect(puts[2]?.body).toMatchObject({ Checks: [{ CheckID: "service:web", Status: "passing" }] });
    await agent.stop();
    expect(puts.at(-1)).toEqual({ path: "/v1/catalog/deregister", body: { Node: "w1", ServiceID: "web" } });
  });

  it("runs no check until a registration succeeded, and keeps retrying it", async () => {
    const { agent, puts, setFail } = setup(() => ({ status: "passing", output: "" }));
    setFail(true);
    await agent.start();
    await settle();
    expect(puts).toEqual([]);
    setFail(false);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(puts.map((p) => Object.keys(p.body).includes("Service"))).toEqual([true, false]);
    await agent.stop();
  });
});

describe("RegistryAgent TTL checks and maintenance", () => {
  it("keeps a TTL status no server took and carries it with the next sync", async () => {
    const { agent, puts, setFail } = setup(() => ({ status: "passing", output: "" }));
    await agent.start();
    await agent.registerCheck({ checkId: "job", name: "job", serviceId: undefined, status: "critical", output: "", type: "ttl", ttlMs: 60_000 });
    expect(puts.at(-1)?.body).toMatchObject({ Node: "w1", Checks: [{ CheckID: "job", Status: "critical", Definition: { TTL: "1m0s" } }] });
    setFail(true);
    await agent.updateTtl("job", "passing", "done");
    expect(agent.checks().find((c) => c.check.checkId === "job")?.check).toMatchObject({ status: "passing", output: "done" });
    setFail(false);
    await agent.sync();
    expect(puts.at(-1)?.body).toMatchObject({ Checks: [{ CheckID: "job", Status: "passing", Output: "done" }] });
    await expect(agent.updateTtl("service:web", "passing", "")).rejects.toThrow(/does not have associated TTL/);
    await expect(agent.updateTtl("nope", "passing", "")).rejects.toThrow(/Unknown check ID "nope"/);
    await agent.stop();
    expect(puts.at(-1)).toEqual({ path: "/v1/catalog/deregister", body: { Node: "w1", CheckID: "job" } });
  });

  it("registers a critical maintenance check for a service and removes it again; unknown services are refused", async () => {
    const { agent, puts } = setup(() => ({ status: "passing", output: "" }));
    await agent.start();
    expect(await agent.setMaintenance("web", "")).toBe(true);
    expect(puts.at(-1)?.body).toMatchObject({ Checks: [{ CheckID: "_service_maintenance:web", ServiceID: "web", Status: "critical", Output: expect.stringContaining("no reason was provided") as string }] });
    // A re-registration of the service carries its maintenance check.
    await agent.sync();
    expect((puts.at(-1)?.body["Checks"] as { CheckID: string }[]).map((c) => c.CheckID)).toEqual(["service:web", "_service_maintenance:web"]);
    expect(await agent.setMaintenance("web", undefined)).toBe(true);
    expect(puts.at(-1)).toEqual({ path: "/v1/catalog/deregister", body: { Node: "w1", CheckID: "_service_maintenance:web" } });
    expect(await agent.setMaintenance("db", "x")).toBe(false);
    await agent.stop();
  });
});

describe("encodeCatalogCheck", () => {
  it("writes durations as Go durations under Definition", () => {
    const [service] = servicesFromFlags(["db:5432"], ["tcp://127.0.0.1:5432"], 500, 250);
    const check = service?.checks[0];
    if (check === undefined) throw new Error("no check");
    expect(encodeCatalogCheck({ ...check, deregisterCriticalAfterMs: 90_000 }, "warning", "slow")).toEqual({
      CheckID: "service:db",
      Name: "Service 'db' check",
      ServiceID: "db",
      Status: "warning",
      Output: "slow",
      Definition: { TCP: "127.0.0.1:5432", Interval: "500ms", Timeout: "250ms", DeregisterCriticalServiceAfter: "1m30s" },
    });
  });
});
