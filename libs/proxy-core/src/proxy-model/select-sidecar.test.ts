import { describe, expect, it } from "vitest";
import { isImported, type EgressHost } from "./select-sidecar.ts";

const hosts = (...list: string[]): EgressHost[] => list.map((h) => ({ namespace: h.split("/")[0] ?? "", dnsName: h.split("/")[1] ?? "" }));

describe("isImported", () => {
  it.each([
    [["./*"], "shop", "cart.shop.svc.cluster.local", "shop", true],
    [["./*"], "bank", "ledger.bank.svc.cluster.local", "shop", false],
    [["*/api.example.com"], "ext", "api.example.com", "shop", true],
    [["bank/*.bank.svc.cluster.local"], "bank", "ledger.bank.svc.cluster.local", "shop", true],
    [["bank/*.bank.svc.cluster.local"], "other", "ledger.bank.svc.cluster.local", "shop", false],
    [["~/*"], "shop", "cart.shop.svc.cluster.local", "shop", false],
    [["*/*.example.com"], "ext", "*.example.com", "shop", true],
    [["*/api.example.com"], "ext", "*.example.com", "shop", false],
  ] as const)("%j imports %s/%s for a proxy in %s: %s", (list, owner, host, proxyNs, expected) => {
    expect(isImported(hosts(...list), owner, host, proxyNs)).toBe(expected);
  });

  it("imports everything without egress hosts (no Sidecar)", () => {
    expect(isImported(undefined, "any", "x.example.com", "shop")).toBe(true);
  });
});
