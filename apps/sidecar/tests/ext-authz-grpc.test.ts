// AuthorizationPolicy action CUSTOM with an envoyExtAuthzGrpc provider on real sidecars (in
// process, standalone, plain text, port 0): Istio's authz-custom task with the gRPC sample
// authorizer (tests/support/ext-authz-grpc-server.ts, a real grpc-js server with its own text of
// Envoy's protos) in front of a real HTTP application. Three workloads select three providers of
// one MeshConfig: `api` (fail closed, 300 ms timeout), `open` (failOpen) and `down` (nothing
// listens; statusOnError 503).
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { connect, constants } from "node:http2";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleAnswer, startExtAuthzTestServer, type ExtAuthzTestServer } from "./support/ext-authz-grpc-server.ts";
import { echoClient } from "./support/h2-upstream-server.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let dir: string;
let app: Server;
let authz: ExtAuthzTestServer;
const sidecars: Record<"api" | "open" | "down", TestSidecar | undefined> = { api: undefined, open: undefined, down: undefined };
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];

const policy = (workload: string, provider: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz-${workload}, namespace: foo }
spec:
  selector: { matchLabels: { app: ${workload} } }
  action: CUSTOM
  provider: { name: ${provider} }
  rules:
  - to:
    - operation: { paths: ["/headers", "/test.Echo/*"] }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-ext-authz-grpc-"));
  authz = await startExtAuthzTestServer(sampleAnswer);
  app = createServer((request, response) => {
    seen.push({ path: request.url ?? "", headers: request.headers });
    response.setHeader("x-served-by", "app");
    response.end("app\n");
  });
  const appPort = await new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as { port: number }).port)));
  const dead = createTcpServer();
  const deadPort = await new Promise<number>((resolve) => dead.listen(0, "127.0.0.1", () => resolve((dead.address() as { port: number }).port)));
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  await mkdir(join(dir, "logs"));
  await mkdir(join(dir, "config"));
  await writeFile(join(dir, "config", "policies.yaml"), [policy("api", "sample-ext-authz-grpc"), policy("open", "ext-authz-open"), policy("down", "ext-authz-down")].join("---\n"));
  // Istio's ConfigMap form: MeshConfig as a string under `mesh`.
  await writeFile(
    join(dir, "mesh.yaml"),
    `mesh: |-
  extensionProviders:
  - name: sample-ext-authz-grpc
    envoyExtAuthzGrpc: { service: 127.0.0.1, port: "${authz.port}", timeout: 300ms }
  - name: ext-authz-open
    envoyExtAuthzGrpc: { service: 127.0.0.1, port: "${authz.port}", timeout: 300ms, failOpen: true }
  - name: ext-authz-down
    envoyExtAuthzGrpc: { service: 127.0.0.1, port: "${deadPort}", statusOnError: "503" }
`,
  );
  for (const name of ["api", "open", "down"] as const) {
    sidecars[name] = await startTestSidecar(
      ["--config", join(dir, "config"), "--mesh-config", join(dir, "mesh.yaml"), "--namespace", "foo", "--labels", `app=${name}`, "--app-port", String(appPort)],
      join(dir, "logs"),
      name,
    );
  }
});

afterAll(async () => {
  for (const sidecar of Object.values(sidecars)) await sidecar?.stop();
  await authz?.close();
  app?.close();
  await rm(dir, { recursive: true, force: true });
});

function inbound(name: keyof typeof sidecars): number {
  return (sidecars[name] as TestSidecar).port("inbound");
}

/** GET with Host httpbin.foo:8000 (fetch would not send that Host). */
function get(name: keyof typeof sidecars, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: inbound(name), path, headers: { host: "httpbin.foo:8000", ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("CUSTOM with an envoyExtAuthzGrpc provider on a real sidecar", () => {
  it("lets through what the authorizer allows, with its upstream header changes and response headers", async () => {
    seen.length = 0;
    const reply = await get("api", "/headers", { "x-ext-authz": "allow", "x-tenant": "t1", "x-remove-me": "secret" });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("app\n");
    expect(reply.headers["x-ext-authz-response"]).toBe("allowed");
    // response_headers_to_add with append false replaces the application's value.
    expect(reply.headers["x-served-by"]).toBe("ext-authz");
    const upstream = seen.at(-1)?.headers ?? {};
    expect(upstream["x-ext-authz-check-result"]).toBe("allowed");
    expect(upstream["x-tenant"]).toBe("t1,checked");
    expect(upstream["x-remove-me"]).toBeUndefined();
    expect(upstream["x-absent"]).toBeUndefined();
    expect(upstream["host"]).toBe("httpbin.foo:8000");
    expect(seen.at(-1)?.path).toBe("/headers");
  });

  it("tells the authorizer the request and both ends of the connection (HTTP/1.1)", async () => {
    const before = authz.checks.length;
    await get("api", "/headers?q=1", { "x-ext-authz": "allow" });
    const attributes = authz.checks[before]?.request["attributes"];
    expect(attributes.request.http).toMatchObject({ method: "GET", path: "/headers?q=1", host: "httpbin.foo:8000", scheme: "http", protocol: "HTTP/1.1" });
    expect(attributes.request.http.headers).toMatchObject({ ":authority": "httpbin.foo:8000", ":method": "GET", ":path": "/headers?q=1", ":scheme": "http", "x-ext-authz": "allow" });
    expect(attributes.request.http.headers["host"]).toBeUndefined();
    expect(attributes.source.address.socket_address.address).toMatch(/127\.0\.0\.1$/);
    expect(attributes.source.address.socket_address.port_value).toBeGreaterThan(0);
    expect(attributes.destination.address.socket_address.port_value).toBe(inbound("api"));
    expect(authz.checks[before]?.authority).toBe("127.0.0.1");
  });

  it("does not ask the authorizer about paths no CUSTOM rule matches", async () => {
    const before = authz.checks.length;
    expect((await get("api", "/ip", { "x-ext-authz": "deny" })).status).toBe(200);
    expect(authz.checks.length).toBe(before);
  });

  it("answers the authorizer's denial: its status, headers and body, flagged UAEX in the access log", async () => {
    seen.length = 0;
    const forbidden = await get("api", "/headers", { "x-ext-authz": "deny" });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toBe("denied by ext_authz for not found header `x-ext-authz: allow` in the request");
    expect(forbidden.headers["x-ext-authz-check-result"]).toBe("denied");
    const unauthenticated = await get("api", "/headers", { "x-ext-authz": "unauthenticated" });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers["www-authenticate"]).toBe('Bearer realm="mesh"');
    expect(unauthenticated.headers["content-type"]).toBe("application/json");
    expect(unauthenticated.body).toBe('{"error":"who are you"}');
    expect(seen).toEqual([]);
    const line = await eventually(
      "the denial's access-log line",
      async () => (await (sidecars.api as TestSidecar).accessLog()).find((l) => l["path"] === "/headers" && l["response_code"] === 401),
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(line).toMatchObject({ response_flags: "UAEX", response_code_details: "ext_authz_denied" });
  });

  it("answers statusOnError (403) when the authorizer does not answer in time; a failOpen provider lets the request through", async () => {
    seen.length = 0;
    const started = Date.now();
    const closed = await get("api", "/headers", { "x-ext-authz": "hang" });
    expect(closed.status).toBe(403);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(seen).toEqual([]);
    const open = await get("open", "/headers", { "x-ext-authz": "hang" });
    expect(open).toMatchObject({ status: 200, body: "app\n" });
    expect(seen.map((s) => s.path)).toEqual(["/headers"]);
    const line = await eventually(
      "the timeout's access-log line",
      async () => (await (sidecars.api as TestSidecar).accessLog()).find((l) => l["path"] === "/headers" && l["response_code"] === 403 && l["response_code_details"] === "ext_authz_error"),
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(line).toMatchObject({ response_flags: "UAEX" });
  });

  it("answers statusOnError when the authorizer cannot be reached", async () => {
    seen.length = 0;
    const reply = await get("down", "/headers", { "x-ext-authz": "allow" });
    expect(reply.status).toBe(503);
    expect(seen).toEqual([]);
    expect((await get("down", "/ip")).status).toBe(200);
  });

  it("checks HTTP/2 requests too (protocol HTTP/2) and forwards the allowed ones", async () => {
    seen.length = 0;
    const before = authz.checks.length;
    const session = connect(`http://127.0.0.1:${inbound("api")}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ":path": "/headers", ":authority": "httpbin.foo:8000", "x-ext-authz": "allow" });
        stream.on("response", (headers) => resolve(Number(headers[constants.HTTP2_HEADER_STATUS])));
        stream.on("error", reject);
        stream.resume();
      });
      expect(status).toBe(200);
    } finally {
      session.close();
    }
    expect(authz.checks[before]?.request["attributes"].request.http).toMatchObject({ protocol: "HTTP/2", method: "GET", path: "/headers" });
    expect(seen.at(-1)?.headers["x-ext-authz-check-result"]).toBe("allowed");
  });

  it("answers a denied gRPC call with the gRPC status of the authorizer's HTTP status and its body as the message", async () => {
    const client = echoClient(inbound("api"), "httpbin.foo:8000");
    try {
      const call = (value: string): Promise<grpc.ServiceError | null> => {
        const metadata = new grpc.Metadata();
        metadata.set("x-ext-authz", value);
        return new Promise((resolve) => client.unary(Buffer.from("hi"), metadata, (error) => resolve(error)));
      };
      expect(await call("deny")).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: "denied by ext_authz for not found header `x-ext-authz: allow` in the request" });
      expect(await call("unauthenticated")).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: '{"error":"who are you"}' });
    } finally {
      client.close();
    }
  });
});
