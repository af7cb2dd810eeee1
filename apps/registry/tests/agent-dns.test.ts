// The client agent's DNS interface (startAgent with --dns-port 0, in-process) against a REAL
// one-node registry (startTestRegistry, whose own DNS is on too), asked with the real `dig` over
// UDP and TCP: the agent answers what the server's DNS answers — healthy instances only, tags,
// RFC 2782 names, prepared queries, nodes, NXDOMAIN, REFUSED outside the domain — reading the
// servers' HTTP API past a dead first --server; with no live server it answers SERVFAIL.
// Needs `dig`: the run fails, saying how to install it, when it is missing.
import { readSettings } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { dig, requireDig, type DigResult } from "@meshwork/testing/dig";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentSettings } from "../src/agent-mode/agent-settings.ts";
import { type RunningAgent, startAgent } from "../src/agent-mode/start-agent.ts";
import { startTestRegistry, type TestRegistry } from "./support/start-test-registry.ts";

/** A result without what may differ between two correct answers: the SOA serial (each side's own index). */
function comparable(result: DigResult): Omit<DigResult, "raw"> {
  const { raw: _raw, ...rest } = result;
  return { ...rest, authority: rest.authority.map((record) => record.replace(/^(\S+ \d+ IN SOA \S+ \S+) \d+/, "$1 SERIAL")) };
}

let registry: TestRegistry;
let dead = "";
const hooks: (() => Promise<void> | void)[] = [];
const logLines: Record<string, unknown>[] = [];

async function runAgent(servers: readonly string[], node: string): Promise<number> {
  const read = readSettings(agentSettings, { argv: [...servers.flatMap((s) => ["--server", s]), "--node", node, "--dns-port", "0", "--sync-interval", "1m"], env: {} });
  if (read.type !== "settings") throw new Error(`agent settings: ${JSON.stringify(read)}`);
  const running: RunningAgent = await startAgent(read.settings, {
    logger: createLogger({ name: node, write: (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }),
    onStop: (_name, hook) => void hooks.push(hook),
    hostname: "host-1",
    readTextFile: () => Promise.reject(new Error("no files here")),
  });
  if (running.dns === undefined) throw new Error("the agent's DNS is on");
  return running.dns.port;
}

const put = async (path: string, method: "PUT" | "POST", body: object): Promise<void> => {
  const response = await fetch(`${registry.url}${path}`, { method, body: JSON.stringify(body) });
  expect(response.status, await response.text()).toBe(200);
};

let agentDns = 0;

beforeAll(async () => {
  requireDig("agent-dns.test.ts");
  registry = await startTestRegistry();
  for (const [node, id, tags, status] of [
    ["web-node-1", "web-1", ["v1"], "passing"],
    ["web-node-2", "web-2", ["v1"], "critical"],
  ] as const) {
    await put("/v1/catalog/register", "PUT", {
      Node: node,
      Address: `10.0.0.${node.slice(-1)}`,
      Service: { ID: id, Service: "web", Tags: tags, Port: 8080 + Number(node.slice(-1)) },
      Check: { CheckID: `${id}-check`, Name: "alive", Status: status, ServiceID: id },
    });
  }
  await put("/v1/query", "POST", { Name: "web-v1", Service: { Service: "web", Tags: ["v1"] }, DNS: { TTL: "10s" } });
  dead = `http://127.0.0.1:${await freePort()}`;
  // The first --server is down: the first lookup starts there and moves on.
  agentDns = await runAgent([dead, registry.url], "app-1");
}, 30_000);

afterAll(async () => {
  for (const hook of [...hooks].reverse()) await hook();
  await registry?.stop();
});

// name, type → what the agent must answer (and the server answers alike).
const cases: { name: string; type: string; status: string; answer: string[]; additional?: string[] }[] = [
  { name: "web.service.consul", type: "A", status: "NOERROR", answer: ["web.service.consul. 0 IN A 10.0.0.1"] },
  { name: "web.service.consul", type: "SRV", status: "NOERROR", answer: ["web.service.consul. 0 IN SRV 1 1 8081 web-node-1.node.dc1.consul."], additional: ["web-node-1.node.dc1.consul. 0 IN A 10.0.0.1"] },
  { name: "v1.web.service.consul", type: "A", status: "NOERROR", answer: ["v1.web.service.consul. 0 IN A 10.0.0.1"] },
  { name: "_web._v1.service.consul", type: "SRV", status: "NOERROR", answer: ["_web._v1.service.consul. 0 IN SRV 1 1 8081 web-node-1.node.dc1.consul."], additional: ["web-node-1.node.dc1.consul. 0 IN A 10.0.0.1"] },
  { name: "v2.web.service.consul", type: "A", status: "NXDOMAIN", answer: [] },
  { name: "web-v1.query.consul", type: "A", status: "NOERROR", answer: ["web-v1.query.consul. 10 IN A 10.0.0.1"] },
  { name: "web-node-2.node.consul", type: "A", status: "NOERROR", answer: ["web-node-2.node.consul. 0 IN A 10.0.0.2"] },
  { name: "nope.service.consul", type: "A", status: "NXDOMAIN", answer: [] },
  { name: "nope.query.consul", type: "A", status: "NXDOMAIN", answer: [] },
  { name: "nope.node.consul", type: "A", status: "NXDOMAIN", answer: [] },
  { name: "example.com", type: "A", status: "REFUSED", answer: [] },
];

describe("the client agent's DNS (--dns-port)", () => {
  for (const transport of ["udp", "tcp"] as const) {
    for (const c of cases) {
      it(`answers ${c.type} ${c.name} over ${transport} as the server's DNS does: ${c.status}`, async () => {
        const args = [c.name, c.type, "+norecurse", ...(transport === "tcp" ? ["+tcp"] : [])];
        const [viaAgent, direct] = await Promise.all([dig(agentDns, ...args), dig(registry.dnsPort, ...args)]);
        expect(viaAgent.status, viaAgent.raw).toBe(c.status);
        expect(viaAgent.answer).toEqual(c.answer);
        if (c.additional !== undefined) expect(viaAgent.additional).toEqual(c.additional);
        if (c.status === "NXDOMAIN") expect(viaAgent.authority).toEqual([expect.stringMatching(/^consul\. 0 IN SOA ns\.consul\. hostmaster\.consul\. \d+ /)]);
        expect(comparable(viaAgent)).toEqual(comparable(direct));
      });
    }
  }

  it("skipped the dead first --server for the next, as the HTTP forwarder does", () => {
    expect(logLines.some((l) => l["msg"] === "registry server failed; trying the next" && l["server"] === dead)).toBe(true);
  });

  it("answers SERVFAIL over UDP and TCP when no --server answers", async () => {
    const orphan = await runAgent([dead], "app-2");
    for (const extra of [[], ["+tcp"]]) {
      const result = await dig(orphan, "web.service.consul", "A", ...extra);
      expect(result.status, result.raw).toBe("SERVFAIL");
      expect(result.answer).toEqual([]);
    }
    // A name that needs no read is still answered.
    expect((await dig(orphan, "example.com", "A")).status).toBe("REFUSED");
    expect(logLines.some((l) => l["msg"] === "dns: query failed" && String(l["error"]).includes(dead))).toBe(true);
  });
});
