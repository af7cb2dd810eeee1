// The DNS interface against the real `dig` (dnsutils), over UDP and TCP, served from a real
// one-node RegistryNode (Raft, WAL on disk, RegistryState). Needs `dig`: the test fails, saying
// how to install it, when it is missing.
import * as dgram from "node:dgram";
import { dig as digAt, requireDig } from "@meshwork/testing/dig";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDnsServer, type RunningDnsServer } from "../src/dns/start-dns-server.ts";
import type { CheckDefinition, HealthStatus, RegistryCommand } from "../src/registry-contract.ts";
import { startOneNodeRegistry, type OneNodeRegistry } from "./support/one-node-registry.ts";

function check(id: string, serviceId: string, status: HealthStatus): CheckDefinition {
  return { checkId: id, name: id, serviceId, status, output: "", type: "ttl" };
}

function register(node: string, address: string, id: string, name: string, port: number, tags: string[], status: HealthStatus): RegistryCommand {
  return { op: "catalog-register", node, address, service: { id, service: name, address: "", port, tags, meta: {} }, checks: [check(`${id}-check`, id, status)] };
}

let registry: OneNodeRegistry;
let dns: RunningDnsServer;

/** Runs dig against the server. */
const dig = (...args: string[]) => digAt(dns.port, ...args);

beforeAll(async () => {
  requireDig("the registry DNS test");
  registry = await startOneNodeRegistry();
  const node = registry.node;
  for (const command of [
    register("n1", "10.0.0.1", "web-1", "web", 8080, ["v1"], "passing"),
    register("n2", "10.0.0.2", "web-2", "web", 8081, ["v2"], "warning"),
    register("n3", "10.0.0.3", "web-3", "web", 8082, ["v1"], "critical"),
  ]) {
    expect((await node.write(command)).ok).toBe(true);
  }
  // 60 healthy instances: their A records do not fit in 512 bytes.
  for (let i = 0; i < 60; i++) await node.write(register(`big-${i}`, `10.1.0.${i + 1}`, `many-${i}`, "many", 9000 + i, [], "passing"));
  dns = await startDnsServer(node, { host: "127.0.0.1", port: 0 });
}, 60_000);

afterAll(async () => {
  await dns?.close();
  await registry?.close();
});

describe("DNS interface with dig", { timeout: 30_000 }, () => {
  it("answers A for healthy instances (passing and warning, not critical) over UDP and TCP", async () => {
    for (const transport of ["+notcp", "+tcp"]) {
      const result = await dig(transport, "web.service.consul", "A");
      expect(result.status).toBe("NOERROR");
      expect(result.flags).toContain("aa");
      expect([...result.answer].sort()).toEqual(["web.service.consul. 0 IN A 10.0.0.1", "web.service.consul. 0 IN A 10.0.0.2"]);
    }
  });

  it("answers SRV in both forms with node targets and their A records as additional", async () => {
    for (const name of ["web.service.consul", "_web._tcp.service.consul"]) {
      const result = await dig(name, "SRV");
      expect(result.status).toBe("NOERROR");
      expect(result.answer).toEqual([`${name}. 0 IN SRV 1 1 8080 n1.node.dc1.consul.`, `${name}. 0 IN SRV 1 1 8081 n2.node.dc1.consul.`]);
      expect(result.additional).toEqual(["n1.node.dc1.consul. 0 IN A 10.0.0.1", "n2.node.dc1.consul. 0 IN A 10.0.0.2"]);
    }
  });

  it("filters by tag and looks up nodes", async () => {
    expect((await dig("v1.web.service.consul", "A")).answer).toEqual(["v1.web.service.consul. 0 IN A 10.0.0.1"]);
    expect((await dig("_web._v2.service.consul", "SRV")).answer).toEqual(["_web._v2.service.consul. 0 IN SRV 1 1 8081 n2.node.dc1.consul."]);
    expect((await dig("n3.node.consul", "A")).answer).toEqual(["n3.node.consul. 0 IN A 10.0.0.3"]);
  });

  it("answers NXDOMAIN with the SOA in authority for unknown names", async () => {
    for (const name of ["nope.service.consul", "v9.web.service.consul", "n9.node.consul", "what.consul"]) {
      const result = await dig(name, "A");
      expect(result.status).toBe("NXDOMAIN");
      expect(result.answer).toEqual([]);
      expect(result.authority).toHaveLength(1);
      expect(result.authority[0]).toMatch(/^consul\. 0 IN SOA ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0$/);
    }
  });

  it("refuses other classes and names outside the domain", async () => {
    expect((await dig("-c", "CH", "version.bind", "TXT")).status).toBe("REFUSED");
    expect((await dig("example.com", "A")).status).toBe("REFUSED");
  });

  it("truncates over UDP beyond 512 bytes (TC) unless EDNS0 allows more; dig then retries over TCP", async () => {
    const truncated = await dig("+noedns", "+ignore", "many.service.consul", "A");
    expect(truncated.flags).toContain("tc");
    expect(truncated.answer.length).toBeGreaterThan(0);
    expect(truncated.answer.length).toBeLessThan(60);
    const retried = await dig("+noedns", "many.service.consul", "A");
    expect(retried.raw).toMatch(/Truncated, retrying in TCP mode/);
    expect(retried.answer).toHaveLength(60);
    const edns = await dig("+bufsize=4096", "+ignore", "many.service.consul", "A");
    expect(edns.flags).not.toContain("tc");
    expect(edns.answer).toHaveLength(60);
  });

  it("follows the catalog: a check turning critical removes the instance", async () => {
    await registry.node.write({ op: "check-update", node: "n2", checkId: "web-2-check", status: "critical", output: "down" });
    expect((await dig("web.service.consul", "A")).answer).toEqual(["web.service.consul. 0 IN A 10.0.0.1"]);
    await registry.node.write({ op: "check-update", node: "n2", checkId: "web-2-check", status: "warning", output: "" });
    expect((await dig("web.service.consul", "A")).answer).toHaveLength(2);
  });

  it("answers FORMERR to a malformed query with a readable header, drops garbage, and keeps serving", async () => {
    const socket = dgram.createSocket("udp4");
    try {
      const reply = new Promise<Buffer>((resolve) => socket.once("message", resolve));
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
      // Garbage (shorter than a header, and a response) first: no answer, no crash.
      socket.send(Buffer.from([1, 2, 3]), dns.port, "127.0.0.1");
      socket.send(Buffer.from("abcd8100000000000000000000", "hex"), dns.port, "127.0.0.1");
      // A header announcing one question that is not there.
      socket.send(Buffer.from("beef01000001000000000000", "hex"), dns.port, "127.0.0.1");
      const answer = await reply;
      expect(answer.readUInt16BE(0)).toBe(0xbeef);
      expect(answer.readUInt16BE(2) & 0x800f).toBe(0x8001);
    } finally {
      socket.close();
    }
    expect((await dig("web.service.consul", "A")).status).toBe("NOERROR");
  });
});
