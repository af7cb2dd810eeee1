import { Registry } from "prom-client";
import { createLogger } from "@meshwork/telemetry";
import { describe, expect, it } from "vitest";
import { createIstioMetrics } from "../telemetry/istio-metrics.ts";
import type { TlsIdentity } from "../tls/tls-identity.ts";
import type { ProxyReport } from "./traffic-report.ts";
import { createTestPki } from "../../tests/support/mesh-pki.ts";
import { startTrafficReporter, svidOf } from "./traffic-reporter.ts";

const logger = createLogger({ name: "test", write: () => undefined });

describe("the traffic reporter", () => {
  it("keeps the counts of a report it could not send for the next one, and sends the SVID", async () => {
    const registry = new Registry();
    const peer = createIstioMetrics({ reporter: "source", self: { workload: "a" }, registry }).peer({ peer: { workload: "b" } });
    const sent: ProxyReport[] = [];
    let open = false;
    let now = 1_000;
    const held: { identity?: TlsIdentity } = {};
    const intervals: (() => void)[] = [];
    const reporter = startTrafficReporter({
      registry,
      send: (r) => (open ? (sent.push(r), true) : false),
      identity: () => held.identity,
      intervalMs: 5000,
      now: () => now,
      logger,
      timers: { setInterval: (cb) => intervals.push(cb), clearInterval: () => undefined },
    });
    expect(intervals).toHaveLength(1);
    peer.recordRequest("http", 200, -1, 0, 3, 1, 1);
    now = 6_000;
    expect(await reporter.tick()).toBe(false);
    peer.recordRequest("http", 200, -1, 0, 3, 1, 1);
    open = true;
    held.identity = { spiffeId: "spiffe://cluster.local/ns/default/sa/a", serialHex: "01ab", notAfter: new Date(90_000), certPem: "not a certificate", keyPem: "", caPem: "", bundles: new Map() } as unknown as TlsIdentity;
    now = 11_000;
    expect(await reporter.tick()).toBe(true);
    expect(sent[0]).toMatchObject({ intervalStartMs: 1_000, intervalEndMs: 11_000, traffic: [expect.objectContaining({ requests: 2 })], svid: { spiffeId: "spiffe://cluster.local/ns/default/sa/a", serial: "01ab", notAfterMs: 90_000, notBeforeMs: 0 } });
    now = 16_000;
    expect(await reporter.tick()).toBe(true);
    expect(sent[1]).toMatchObject({ intervalStartMs: 11_000, traffic: [] });
    reporter.close();
  });

  it("reports a real SVID's SPIFFE ID, serial and validity", async () => {
    const pki = await createTestPki();
    const issuedAt = new Date();
    const svid = await pki.issue("default", "reviews", { now: issuedAt, ttlSeconds: 3600 });
    const notAfter = new Date(issuedAt.getTime() + 3_600_000);
    const reported = svidOf({ spiffeId: svid.spiffeId, certPem: svid.chainPem, keyPem: svid.keyPem, caPem: pki.rootPem, serialHex: svid.serialHex, notAfter } as unknown as TlsIdentity);
    expect(reported).toMatchObject({ spiffeId: "spiffe://cluster.local/ns/default/sa/reviews", serial: svid.serialHex, notAfterMs: notAfter.getTime() });
    // X.509 keeps whole seconds, and a CA may backdate notBefore a little.
    expect(reported.notBeforeMs).toBeLessThanOrEqual(issuedAt.getTime());
    expect(reported.notBeforeMs).toBeGreaterThan(issuedAt.getTime() - 600_000);
  });
});
