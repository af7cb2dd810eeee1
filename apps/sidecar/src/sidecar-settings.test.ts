import { readSettings } from "@meshwork/runtime";
import { describe, expect, it } from "vitest";
import { dnsProxyPort, sidecarSettings } from "./sidecar-settings.ts";

const read = (argv: string[], env: Record<string, string> = {}) => {
  const result = readSettings(sidecarSettings, { argv, env });
  if (result.type !== "settings") throw new Error(`settings not read: ${JSON.stringify(result)}`);
  return result.settings;
};

describe("the sidecar's DNS proxying settings", () => {
  it("are off by default", () => {
    const settings = read([]);
    expect(dnsProxyPort(settings)).toBe(-1);
    expect([settings.dnsCapture, settings.dnsAutoAllocate, settings.dnsBind, settings.dnsResolvConf]).toEqual([false, false, ["127.0.0.1"], "/etc/resolv.conf"]);
    expect(read([], { MESHWORK_DNS_BIND: "127.0.0.1,::1" }).dnsBind).toEqual(["127.0.0.1", "::1"]);
  });

  it("turn on at Istio's 15053 with Istio's proxy metadata (ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE) or --dns-capture", () => {
    const fromEnv = read([], { ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_DNS_AUTO_ALLOCATE: "true" });
    expect(dnsProxyPort(fromEnv)).toBe(15053);
    expect(fromEnv.dnsAutoAllocate).toBe(true);
    expect(dnsProxyPort(read(["--dns-capture"]))).toBe(15053);
    expect(dnsProxyPort(read([], { ISTIO_META_DNS_CAPTURE: "false" }))).toBe(-1);
  });

  it("take --dns-port over Istio's port (0 picks one, -1 turns it off)", () => {
    expect(dnsProxyPort(read(["--dns-port", "5353"]))).toBe(5353);
    expect(dnsProxyPort(read(["--dns-port", "0"]))).toBe(0);
    expect(dnsProxyPort(read(["--dns-port=-1"], { ISTIO_META_DNS_CAPTURE: "true" }))).toBe(-1);
    expect(read(["--dns-upstream", "10.96.0.10,127.0.0.1:5353"]).dnsUpstream).toEqual(["10.96.0.10", "127.0.0.1:5353"]);
  });
});
