import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  AccessLogRecord,
  AccessLogRecordPool,
  AccessLogWriter,
  formatAccessLogLine,
  openAccessLogStream,
} from "./access-log.ts";
import { RESPONSE_FLAGS } from "./response-flags.ts";

/** Istio's default JSON access-log fields, in order (meshConfig accessLogEncoding: JSON). */
const ISTIO_FIELDS = [
  "start_time",
  "route_name",
  "method",
  "path",
  "protocol",
  "response_code",
  "response_flags",
  "response_code_details",
  "connection_termination_details",
  "upstream_transport_failure_reason",
  "bytes_received",
  "bytes_sent",
  "duration",
  "upstream_service_time",
  "x_forwarded_for",
  "user_agent",
  "request_id",
  "authority",
  "upstream_host",
  "upstream_cluster",
  "upstream_local_address",
  "downstream_local_address",
  "downstream_remote_address",
  "requested_server_name",
];

function sampleRecord(): AccessLogRecord {
  const r = new AccessLogRecord();
  r.startTimeMs = Date.UTC(2026, 10, 22, 10, 0, 0, 409);
  r.method = "GET";
  r.path = "/reviews/0";
  r.protocol = "HTTP/1.1";
  r.responseCode = 503;
  r.responseFlags = RESPONSE_FLAGS.UF | RESPONSE_FLAGS.URX;
  r.responseCodeDetails = "upstream_reset_before_response_started{connection_failure}";
  r.bytesReceived = 0;
  r.bytesSent = 91;
  r.durationMs = 12.9;
  r.upstreamServiceTimeMs = -1;
  r.userAgent = 'curl/8.0 "quoted"\n';
  r.requestId = "c0ffee00-0000-4000-8000-000000000000";
  r.authority = "reviews:9080";
  r.upstreamHost = "127.0.0.1:9081";
  r.upstreamCluster = "outbound|9080||reviews.default.svc.cluster.local";
  r.downstreamRemoteAddress = "127.0.0.1:51234";
  r.routeName = "default";
  return r;
}

/** A Writable whose writes complete only when the test says so, to create back-pressure. */
function heldStream(highWaterMark: number) {
  const chunks: string[] = [];
  const held: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      held.push(() => cb());
    },
  });
  return { stream, chunks, releaseAll: () => held.splice(0).forEach((cb) => cb()) };
}

describe("formatAccessLogLine", () => {
  it("writes Istio's JSON fields in order, with nulls for unknown values", () => {
    const line = formatAccessLogLine(sampleRecord());
    expect(line.endsWith("}\n")).toBe(true);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(ISTIO_FIELDS);
    expect(parsed).toMatchObject({
      start_time: "2026-11-22T10:00:00.409Z",
      method: "GET",
      response_code: 503,
      response_flags: "UF,URX",
      bytes_sent: 91,
      duration: 12,
      upstream_service_time: null,
      x_forwarded_for: null,
      user_agent: 'curl/8.0 "quoted"\n',
      upstream_cluster: "outbound|9080||reviews.default.svc.cluster.local",
      requested_server_name: null,
      route_name: "default",
    });
  });

  it("prints '-' flags, a string upstream_service_time and null start for a fresh record", () => {
    const r = new AccessLogRecord();
    r.upstreamServiceTimeMs = 3.7;
    const parsed = JSON.parse(formatAccessLogLine(r)) as Record<string, unknown>;
    expect(parsed).toMatchObject({ start_time: null, response_flags: "-", upstream_service_time: "3", duration: null });
  });

  it("prints start_time exactly as toISOString, across seconds and for fractional ms", () => {
    const r = new AccessLogRecord();
    for (const t of [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 5, Date.UTC(2026, 0, 1) + 50.9, Date.UTC(2026, 0, 1) + 999, Date.UTC(2026, 0, 1) + 1000, 1]) {
      r.startTimeMs = t;
      expect((JSON.parse(formatAccessLogLine(r)) as { start_time: string }).start_time).toBe(new Date(Math.floor(t)).toISOString());
    }
  });

  it("escapes strings as JSON, keeping non-ASCII and replacing lone surrogates", () => {
    const r = new AccessLogRecord();
    for (const value of ["plain", 'q"uote', "back\\slash", "tab\tnew\nline", "\u0001", "ünïcödé 🚀", "lone \ud800 surrogate"]) {
      r.path = value;
      const line = formatAccessLogLine(r);
      expect((JSON.parse(line) as { path: string }).path).toBe(JSON.parse(JSON.stringify(value)));
      expect(line.indexOf("\n")).toBe(line.length - 1);
    }
  });

  it("reset() makes a used record format like a new one", () => {
    const r = sampleRecord();
    r.reset();
    expect(formatAccessLogLine(r)).toBe(formatAccessLogLine(new AccessLogRecord()));
  });
});

describe("AccessLogRecordPool", () => {
  it("hands back released records cleared", () => {
    const pool = new AccessLogRecordPool();
    const r = sampleRecord();
    pool.release(r);
    const again = pool.acquire();
    expect(again).toBe(r);
    expect(again.method).toBe("");
  });
});

describe("AccessLogWriter", () => {
  it("batches the lines of one turn into one write", () => {
    const { stream, chunks } = heldStream(1 << 20);
    const flushes: (() => void)[] = [];
    const writer = new AccessLogWriter({ stream, schedule: (fn) => flushes.push(fn) });
    const r = sampleRecord();
    writer.write(r);
    r.method = "POST"; // the record is reusable at once: the line was already formatted
    writer.write(r);
    expect(flushes).toHaveLength(1);
    expect(chunks).toHaveLength(0);
    flushes[0]?.();
    expect(chunks).toHaveLength(1);
    const lines = (chunks[0] ?? "").trimEnd().split("\n").map((l) => JSON.parse(l) as { method: string });
    expect(lines.map((l) => l.method)).toEqual(["GET", "POST"]);
    expect(writer.stats).toEqual({ written: 2, dropped: 0 });
  });

  it("writes nothing while disabled", () => {
    const { stream, chunks } = heldStream(1 << 20);
    const writer = new AccessLogWriter({ stream, enabled: false, schedule: (fn) => fn() });
    writer.write(sampleRecord());
    writer.enabled = true;
    writer.write(sampleRecord());
    expect(chunks).toHaveLength(1);
    expect(writer.stats.written).toBe(1);
  });

  it("drops and counts lines while the stream is backed up, then resumes on drain", async () => {
    const { stream, chunks, releaseAll } = heldStream(1);
    const writer = new AccessLogWriter({ stream, maxPendingBytes: 2000, schedule: (fn) => fn() });
    const r = sampleRecord();
    const lineLength = formatAccessLogLine(r).length;
    writer.write(r); // accepted by the stream, which now reports back-pressure
    expect(chunks).toHaveLength(1);
    const fit = Math.floor(2000 / lineLength);
    for (let i = 0; i < fit + 5; i++) writer.write(r);
    expect(chunks).toHaveLength(1); // nothing more handed over while backed up
    expect(writer.stats).toEqual({ written: 1, dropped: 5 });
    releaseAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toHaveLength(2);
    expect((chunks[1] ?? "").trimEnd().split("\n")).toHaveLength(fit);
    expect(writer.stats).toEqual({ written: 1 + fit, dropped: 5 });
  });

  it("survives a stream error, reporting it once and dropping later lines", () => {
    const stream = new Writable({ write: (_c, _e, cb) => cb(new Error("disk full")) });
    const errors: string[] = [];
    const writer = new AccessLogWriter({ stream, schedule: (fn) => fn(), onError: (e) => errors.push(e.message) });
    writer.write(sampleRecord());
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        writer.write(sampleRecord());
        expect(errors).toEqual(["disk full"]);
        expect(writer.stats.dropped).toBe(1);
        resolve();
      });
    });
  });

  it("appends to a file given as the access-log path, and close() flushes it", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "meshwork-access-log-")), "access.log");
    const writer = new AccessLogWriter({ stream: openAccessLogStream(path) });
    writer.write(sampleRecord());
    writer.write(sampleRecord());
    await writer.close();
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect((JSON.parse(lines[0] ?? "") as { authority: string }).authority).toBe("reviews:9080");
  });

  it("uses process.stdout for '-'", () => {
    expect(openAccessLogStream("-")).toBe(process.stdout);
  });
});
