import { describe, expect, it } from "vitest";
import { egressScope, isImported, isImportedOnPort, scopeServiceEntry, type EgressHost } from "./select-sidecar.ts";

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

describe("egressScope and scopeServiceEntry (per-port egress listeners)", () => {
  const sidecar = (egress: unknown[]) => ({ kind: "Sidecar", metadata: { name: "s", namespace: "shop" }, spec: { egress } }) as unknown as Parameters<typeof egressScope>[0];
  const scope = egressScope(sidecar([{ port: { number: 9080 }, hosts: ["bank/*"] }, { hosts: ["./*"] }]));
  const entry = (hosts: string[], ports: number[]) => ({ spec: { hosts, ports: ports.map((number) => ({ number })) } });
  const cut = (hosts: readonly string[], ports: readonly number[] | undefined) => ({ spec: { hosts: [...hosts], ports: (ports ?? []).map((number) => ({ number })) } });

  it("imports a port with a listener of its own only from that listener's hosts, other ports from the catch-all", () => {
    expect(isImportedOnPort(scope, "bank", "ledger.bank.svc.cluster.local", 9080, "shop")).toBe(true);
    expect(isImportedOnPort(scope, "bank", "ledger.bank.svc.cluster.local", 7070, "shop")).toBe(false);
    expect(isImportedOnPort(scope, "shop", "web.shop.svc.cluster.local", 9080, "shop")).toBe(false);
    expect(isImportedOnPort(scope, "shop", "web.shop.svc.cluster.local", 7070, "shop")).toBe(true);
  });

  it("imports nothing on other ports without a catch-all listener", () => {
    const only = egressScope(sidecar([{ port: { number: 9080 }, hosts: ["*/*"] }]));
    expect([isImportedOnPort(only, "shop", "web.shop.svc.cluster.local", 9080, "shop"), isImportedOnPort(only, "shop", "web.shop.svc.cluster.local", 7070, "shop")]).toEqual([true, false]);
  });

  it("keeps the very entry when everything is imported, cuts ports, and splits hosts imported on different ports", () => {
    const all = entry(["web.shop.svc.cluster.local"], [7070]);
    expect(scopeServiceEntry(all, { scope, ownerNamespace: "shop", proxyNamespace: "shop", cut })[0]).toBe(all);
    expect(scopeServiceEntry(entry(["web.shop.svc.cluster.local"], [9080, 7070]), { scope, ownerNamespace: "shop", proxyNamespace: "shop", cut })).toEqual([cut(["web.shop.svc.cluster.local"], [7070])]);
    const mixed = egressScope(sidecar([{ port: { number: 9080 }, hosts: ["*/a.example.com"] }, { hosts: ["*/b.example.com"] }]));
    expect(scopeServiceEntry(entry(["a.example.com", "b.example.com", "c.example.com"], [9080, 443]), { scope: mixed, ownerNamespace: "ext", proxyNamespace: "shop", cut })).toEqual([
      cut(["a.example.com"], [9080]),
      cut(["b.example.com"], [443]),
    ]);
  });
});
