// Istio's Telemetry API on a real sidecar (startSidecar in-process, standalone config from a
// directory that the test rewrites: each rewrite is a config push, applied without a restart):
// access logs turned on (to stdout with --access-log off, as Istio's envoy provider writes),
// filtered by a CEL expression and turned off; a metric disabled for CLIENT mode leaving
// /stats/prometheus and a removed label; sampling at 100 % producing spans with custom tags, and
// disableSpanReporting stopping them.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { eventually } from "./support/harness.ts";
import { send } from "./support/http-client.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { serviceEntryYaml, startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let root: string;
let upstream: UpstreamServer;
const started: TestSidecar[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-telemetry-api-"));
  upstream = await startUpstream("api");
  // /fail... answers 500 (not retried by Istio's default policy), everything else 200.
  upstream.handle((req, res) => {
    res.statusCode = req.url?.startsWith("/fail") === true ? 500 : 200;
    res.end("api");
  });
});

afterEach(async () => {
  for (const sidecar of started.splice(0)) await sidecar.stop();
});

afterAll(async () => {
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** A config directory with the upstream's ServiceEntry and `telemetry` as telemetry.yaml. */
async function configDir(name: string, telemetry: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), serviceEntryYaml("api.test", 80, [upstream]));
  await writeFile(join(dir, "telemetry.yaml"), telemetry);
  return dir;
}

/** Rewrites telemetry.yaml and waits until the sidecar runs a config whose telemetry `applied` accepts. */
async function push(sidecar: TestSidecar, dir: string, telemetry: string, applied: (sources: readonly string[]) => boolean): Promise<void> {
  await writeFile(join(dir, "telemetry.yaml"), telemetry);
  await eventually("the sidecar applied the new Telemetry", () => applied(sidecar.running.state.config?.telemetry?.sources ?? []), 10_000);
}

async function start(dir: string, name: string, args: readonly string[] = []): Promise<TestSidecar> {
  const sidecar = await startTestSidecar(["--config", dir, "--inbound-port=-1", "--labels", "app=client", "--trace-sampling", "0", ...args], root, name);
  started.push(sidecar);
  return sidecar;
}

const get = (sidecar: TestSidecar, path: string) => send(sidecar.port("outbound"), { host: "api.test", path });

const meshAccessLog = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  accessLogging:
  - providers: [{ name: envoy }]
`;

describe("Telemetry accessLogging", () => {
  it("turns the access log on (stdout when --access-log is off), filters it with response.code >= 400, and turns it off with disabled", async () => {
    const stdout: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      if (text.includes('"response_code"')) {
        stdout.push(...text.split("\n").filter((l) => l !== ""));
        return true;
      }
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    });
    try {
      const dir = await configDir("access-log", "");
      const sidecar = await start(dir, "access-log", ["--access-log", "off"]);
      const paths = (): string[] => stdout.map((l) => String((JSON.parse(l) as { path: unknown }).path));

      expect((await get(sidecar, "/before")).status).toBe(200);

      await push(sidecar, dir, meshAccessLog, (s) => s.includes("istio-system/mesh-default"));
      expect((await get(sidecar, "/ok-1")).status).toBe(200);
      expect((await get(sidecar, "/fail-1")).status).toBe(500);
      await eventually("two lines on stdout", () => stdout.length >= 2);

      const errorsOnly = `${meshAccessLog}---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: client-errors, namespace: default }
spec:
  selector: { matchLabels: { app: client } }
  accessLogging:
  - filter: { expression: "response.code >= 400" }
`;
      await push(sidecar, dir, errorsOnly, (s) => s.includes("default/client-errors"));
      await get(sidecar, "/ok-2");
      await get(sidecar, "/fail-2");
      await eventually("the error's line", () => paths().includes("/fail-2"));

      const disabled = `${meshAccessLog}---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: quiet, namespace: default }
spec:
  accessLogging:
  - disabled: true
`;
      await push(sidecar, dir, disabled, (s) => s.includes("default/quiet"));
      await get(sidecar, "/ok-3");
      await get(sidecar, "/fail-3");
      // A request after them that is logged would prove the writer flushed; none is, so give the writer's batch a turn.
      await new Promise((resolve) => setTimeout(resolve, 200));

      expect(paths()).toEqual(["/ok-1", "/fail-1", "/fail-2"]);
      expect(JSON.parse(stdout[2] as string)).toMatchObject({ path: "/fail-2", response_code: 500, authority: "api.test", upstream_cluster: "outbound|80||api.test" });
    } finally {
      spy.mockRestore();
    }
  });

  it("writes to the --access-log file and stops at disabled: true in a more specific Telemetry", async () => {
    const dir = await configDir("access-log-file", "");
    const sidecar = await start(dir, "access-log-file");
    await get(sidecar, "/flag-on");
    await eventually("the flag's own line", async () => (await sidecar.accessLog()).some((l) => l["path"] === "/flag-on"));
    await push(sidecar, dir, `${meshAccessLog}---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: { name: off, namespace: default }\nspec:\n  selector: { matchLabels: { app: client } }\n  accessLogging:\n  - disabled: true\n`, (s) =>
      s.includes("default/off"),
    );
    await get(sidecar, "/off");
    const dump = (await (await fetch(`http://127.0.0.1:${sidecar.port("admin")}/config_dump`)).json()) as { telemetry: { sources: string[]; client: unknown } };
    expect(dump.telemetry).toMatchObject({ sources: ["istio-system/mesh-default", "default/off"], client: { accessLog: { enabled: false } } });
    await push(sidecar, dir, meshAccessLog, (s) => !s.includes("default/off"));
    await get(sidecar, "/on-again");
    await eventually("the line after re-enabling", async () => (await sidecar.accessLog()).some((l) => l["path"] === "/on-again"));
    expect((await sidecar.accessLog()).map((l) => l["path"])).toEqual(["/flag-on", "/on-again"]);
  });
});

/** The `name{...}` sample lines of a Prometheus exposition. */
const series = (text: string, name: string): string[] => text.split("\n").filter((l) => l.startsWith(`${name}{`));

describe("Telemetry metrics overrides", () => {
  it("drops a metric disabled for CLIENT mode and a removed label from /stats/prometheus, and brings them back on the next push", async () => {
    const overrides = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-metrics, namespace: istio-system }
spec:
  metrics:
  - providers: [{ name: prometheus }]
    overrides:
    - match: { metric: REQUEST_COUNT, mode: CLIENT }
      disabled: true
    - match: { metric: REQUEST_DURATION, mode: CLIENT }
      tagOverrides:
        response_code: { operation: REMOVE }
        deployment: { value: "'canary'" }
`;
    const dir = await configDir("metrics", overrides);
    const sidecar = await start(dir, "metrics");
    await eventually("the Telemetry applied", () => (sidecar.running.state.config?.telemetry?.sources ?? []).includes("istio-system/mesh-metrics"));
    expect((await get(sidecar, "/ok")).status).toBe(200);
    expect((await get(sidecar, "/fail")).status).toBe(500);

    let text = await sidecar.metrics();
    expect(series(text, "istio_requests_total").filter((l) => l.includes('reporter="source"'))).toEqual([]);
    const counts = series(text, "istio_request_duration_milliseconds_count");
    // The 200 and the 500 series became one: response_code is gone, the constant label is there.
    expect(counts).toHaveLength(1);
    expect(counts[0]).not.toContain("response_code=");
    expect(counts[0]).toContain('deployment="canary"');
    expect(counts[0]?.endsWith(" 2")).toBe(true);
    // Metrics nothing overrides are untouched.
    expect(series(text, "istio_request_bytes_count").filter((l) => l.includes('response_code="500"'))).toHaveLength(1);

    await push(sidecar, dir, "", (s) => s.length === 0);
    text = await sidecar.metrics();
    const requests = series(text, "istio_requests_total").filter((l) => l.includes('reporter="source"'));
    expect(requests.map((l) => /response_code="(\d+)"/.exec(l)?.[1]).sort()).toEqual(["200", "500"]);
    expect(series(text, "istio_request_duration_milliseconds_count").every((l) => l.includes("response_code=") && !l.includes("deployment="))).toBe(true);
  });
});

interface ReceivedSpan {
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** An OTLP/HTTP (JSON) trace receiver keeping the spans' attributes. */
async function startOtlpReceiver(): Promise<{ readonly url: string; readonly spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      type Value = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans?: { scopeSpans?: { spans?: { attributes?: { key: string; value: Value }[] }[] }[] }[] };
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            spans.push({ attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue])) });
          }
        }
      }
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/v1/traces`, spans, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("Telemetry tracing", () => {
  it("samples every request at randomSamplingPercentage 100 with custom tags, and reports none after disableSpanReporting", async () => {
    const receiver = await startOtlpReceiver();
    try {
      const tracing = (extra: string) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-tracing, namespace: istio-system }
spec:
  tracing:
  - randomSamplingPercentage: 100
    customTags:
      team: { literal: { value: payments } }
      user: { header: { name: x-user, defaultValue: anonymous } }
${extra}`;
      const dir = await configDir("tracing", "");
      const sidecar = await start(dir, "tracing", ["--otlp-endpoint", receiver.url]);
      await get(sidecar, "/unsampled");
      await push(sidecar, dir, tracing(""), (s) => s.includes("istio-system/mesh-tracing"));
      await send(sidecar.port("outbound"), { host: "api.test", path: "/sampled-1", headers: { "x-user": "ada" } });
      await get(sidecar, "/sampled-2");
      await push(sidecar, dir, tracing("    disableSpanReporting: true\n"), () => sidecar.running.state.config?.telemetry?.client.tracing?.reportSpans === false);
      await get(sidecar, "/not-reported");
      // Stopping flushes the batch of spans to the receiver.
      await sidecar.stop();
      started.splice(started.indexOf(sidecar), 1);
      const byPath = new Map(receiver.spans.map((s) => [s.attributes["url.path"], s.attributes]));
      expect([...byPath.keys()].sort()).toEqual(["/sampled-1", "/sampled-2"]);
      expect(byPath.get("/sampled-1")).toMatchObject({ team: "payments", user: "ada" });
      expect(byPath.get("/sampled-2")).toMatchObject({ team: "payments", user: "anonymous" });
    } finally {
      await receiver.close();
    }
  });
});
