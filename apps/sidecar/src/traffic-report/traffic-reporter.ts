// Sends the sidecar's traffic report (traffic-report.ts) and SVID on the discovery stream every
// interval (--traffic-report-seconds, default 5). A report that cannot be sent (no stream between
// reconnects) is not lost: the next one counts from the last report that went out.
import { X509Certificate } from "node:crypto";
import type { Registry } from "prom-client";
import type { Logger } from "@meshwork/telemetry";
import type { TlsIdentity } from "../tls/tls-identity.ts";
import { readTrafficTotals, trafficDelta, type ProxyReport, type Svid, type TrafficTotals } from "./traffic-report.ts";

export interface TrafficReporterOptions {
  readonly registry: Registry;
  /** Writes the report on the discovery stream; false when no stream is open. */
  readonly send: (report: ProxyReport) => boolean;
  /** The proxy's current identity; undefined without one (no mutual TLS). */
  readonly identity: () => TlsIdentity | undefined;
  readonly intervalMs: number;
  /** Wall clock (ms since the epoch): report intervals are in the control plane's terms. */
  readonly now: () => number;
  readonly logger: Logger;
  readonly timers?: { setInterval(callback: () => void, ms: number): unknown; clearInterval(handle: unknown): void };
}

export interface TrafficReporter {
  /** Builds and sends one report now; resolves whether it went out. */
  tick(): Promise<boolean>;
  close(): void;
}

/** The SVID fields of the report from an identity (notBefore read from the leaf). */
export function svidOf(identity: TlsIdentity): Svid {
  let notBeforeMs = 0;
  try {
    notBeforeMs = Date.parse(new X509Certificate(identity.certPem).validFrom);
  } catch {
    // The identity was checked when it was loaded; an unreadable validFrom leaves notBefore at 0.
  }
  return { spiffeId: identity.spiffeId, serial: identity.serialHex, notBeforeMs: Number.isFinite(notBeforeMs) ? notBeforeMs : 0, notAfterMs: identity.notAfter.getTime() };
}

export function startTrafficReporter(options: TrafficReporterOptions): TrafficReporter {
  let sent: TrafficTotals | undefined;
  let sentAtMs = options.now();
  let svid: { readonly identity: TlsIdentity; readonly svid: Svid } | undefined;
  let running: Promise<boolean> | undefined;
  let failures = 0;
  const tick = async (): Promise<boolean> => {
    const totals = await readTrafficTotals(options.registry);
    const nowMs = options.now();
    const identity = options.identity();
    if (identity !== undefined && svid?.identity !== identity) svid = { identity, svid: svidOf(identity) };
    const report: ProxyReport = {
      intervalStartMs: sentAtMs,
      intervalEndMs: nowMs,
      durationBoundsMs: [...totals.bounds],
      traffic: trafficDelta(sent, totals),
      svid: identity === undefined ? undefined : svid?.svid,
    };
    if (!options.send(report)) {
      failures += 1;
      if (failures === 1) options.logger.debug("no discovery stream for the traffic report; its counts go in the next one");
      return false;
    }
    failures = 0;
    sent = totals;
    sentAtMs = nowMs;
    return true;
  };
  const once = (): Promise<boolean> => {
    running ??= tick()
      .catch((error: unknown) => {
        options.logger.warn("building the traffic report failed", { err: error });
        return false;
      })
      .finally(() => (running = undefined));
    return running;
  };
  const timers = options.timers ?? {
    setInterval: (cb: () => void, ms: number) => setInterval(cb, ms).unref(),
    clearInterval: (h: unknown) => clearInterval(h as NodeJS.Timeout),
  };
  const handle = options.intervalMs > 0 ? timers.setInterval(() => void once(), options.intervalMs) : undefined;
  return {
    tick: once,
    close: () => {
      if (handle !== undefined) timers.clearInterval(handle);
    },
  };
}
