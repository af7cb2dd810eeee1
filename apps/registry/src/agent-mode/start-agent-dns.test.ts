import { readSettings } from "@meshwork/runtime";
import { describe, expect, it } from "vitest";
import type { DnsZone } from "../dns/answer-query.ts";
import { agentSettings } from "./agent-settings.ts";
import type { RegistryReadAnswer } from "./registry-client.ts";
import { RegistryUnavailableError } from "./registry-client.ts";
import { answerOverHttp, dnsServerTimeoutMs } from "./start-agent-dns.ts";
import { DNS_RCODE, DNS_TYPE, type DnsMessage } from "@meshwork/protocol/dns-wire";

const zone: DnsZone = { domain: "consul", datacenter: "dc1", ttlSeconds: 0 };

function query(name: string): DnsMessage {
  return { id: 1, flags: { qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, z: 0, rcode: 0 }, questions: [{ name, type: DNS_TYPE.A, class: 1 }], answers: [], authorities: [], additionals: [] };
}

function serialOf(message: DnsMessage): number | undefined {
  const soa = message.authorities[0]?.data;
  return soa?.kind === "soa" ? soa.serial : undefined;
}

describe("answerOverHttp", () => {
  it("reads each lookup from a server with the DNS timeout, keeping the highest X-Consul-Index as the SOA serial", async () => {
    const asked: { path: string; timeoutMs: number | undefined }[] = [];
    let index = 40;
    const client = {
      get: (path: string, options?: { readonly timeoutMs?: number }): Promise<RegistryReadAnswer> => {
        asked.push({ path, timeoutMs: options?.timeoutMs });
        return Promise.resolve({ status: 200, text: path.startsWith("/v1/health") ? "[]" : "{}", index: index-- });
      },
    };
    const serial = { value: 0 };
    const first = await answerOverHttp(client, query("nope.service.consul"), zone, serial);
    expect(first.flags.rcode).toBe(DNS_RCODE.NXDOMAIN);
    expect(serialOf(first)).toBe(40);
    expect(asked).toEqual([
      { path: "/v1/health/service/nope?stale", timeoutMs: dnsServerTimeoutMs },
      { path: "/v1/catalog/services?stale", timeoutMs: dnsServerTimeoutMs },
    ]);
    // A lower index later (another table's) does not move the serial back.
    expect(serialOf(await answerOverHttp(client, query("other.service.consul"), zone, serial))).toBe(40);
  });

  it("answers without a read what needs none, and rejects when no server answers (SERVFAIL above it)", async () => {
    const down = { get: () => Promise.reject(new RegistryUnavailableError(["http://a:8500: ECONNREFUSED"])) };
    expect((await answerOverHttp(down, query("example.com"), zone, { value: 0 })).flags.rcode).toBe(DNS_RCODE.REFUSED);
    expect((await answerOverHttp(down, query("a.b.c.consul"), zone, { value: 0 })).flags.rcode).toBe(DNS_RCODE.NXDOMAIN);
    await expect(answerOverHttp(down, query("web.service.consul"), zone, { value: 0 })).rejects.toThrow(RegistryUnavailableError);
  });
});

describe("agent DNS settings", () => {
  it("are off by default, take the servers' flag and variable names, and bind --http-bind unless --dns-bind", () => {
    const read = (argv: string[], env: Record<string, string> = {}) => {
      const result = readSettings(agentSettings, { argv: ["--server", "http://registry:8500", ...argv], env });
      if (result.type !== "settings") throw new Error(JSON.stringify(result));
      return result.settings;
    };
    expect(read([])).toMatchObject({ dnsPort: -1, dnsDomain: "consul", dnsBind: undefined });
    expect(read(["--dns-port", "8600", "--dns-domain", "mesh", "--dns-bind", "0.0.0.0"])).toMatchObject({ dnsPort: 8600, dnsDomain: "mesh", dnsBind: "0.0.0.0" });
    expect(read([], { MESHWORK_REGISTRY_DNS_PORT: "0" }).dnsPort).toBe(0);
  });
});
