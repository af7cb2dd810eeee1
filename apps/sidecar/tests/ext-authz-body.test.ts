// includeRequestBodyInCheck on real sidecars (in process, standalone, plain text, port 0): the
// sidecar reads the body of a request a CUSTOM policy sends to its provider, checks with it, and
// then forwards the whole body unchanged. A real grpc-js authorizer (tests/support/ext-authz-grpc-
// server.ts) and a real HTTP authorizer allow a body that says "let-me-in". Three workloads select
// three providers of one MeshConfig, all with maxRequestBytes 16: `strict` (gRPC, a larger body is
// 413), `partial` (gRPC, allowPartialMessage and packAsBytes) and `http` (envoyExtAuthzHttp,
// allowPartialMessage). Clients: HTTP/1.1 (Content-Length, chunked, Expect: 100-continue), HTTP/2
// and grpc-js.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleAnswer, startExtAuthzTestServer, type ExtAuthzTestServer, type Message } from "./support/ext-authz-grpc-server.ts";
import { h2Connect, h2Request } from "./support/h2-client.ts";
import { echoClient } from "./support/h2-upstream-server.ts";
import { patternedBody } from "./support/patterned-body.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

type Workload = "strict" | "partial" | "http";

let dir: string;
let app: Server;
let httpAuthz: Server;
let grpcAuthz: ExtAuthzTestServer;
const sidecars: Partial<Record<Workload, TestSidecar>> = {};
/** Requests the application received, with their whole bodies. */
const seen: { path: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
/** Checks the HTTP authorizer received. */
const httpChecks: { headers: IncomingHttpHeaders; body: Buffer }[] = [];

const policy = (workload: Workload, provider: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz-${workload}, namespace: foo }
spec:
  selector: { matchLabels: { app: ${workload} } }
  action: CUSTOM
  provider: { name: ${provider} }
  rules:
  - to:
    - operation: { paths: ["/upload", "/test.Echo/*"] }
`;

/** The check's body as the gRPC authorizer got it: `body` (text) or `raw_body` (bytes). */
function checkedBody(check: Message | undefined): Buffer {
  const http = check?.["attributes"]?.["request"]?.["http"] ?? {};
  return http["raw_body"] !== undefined ? Buffer.from(http["raw_body"] as Buffer) : Buffer.from(String(http["body"] ?? ""));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-ext-authz-body-"));
  grpcAuthz = await startExtAuthzTestServer((request) =>
    checkedBody(request).includes("let-me-in") ? sampleAnswer({ attributes: { request: { http: { headers: { "x-ext-authz": "allow" } } } } }) : sampleAnswer(request),
  );
  httpAuthz = createServer(async (req, res) => {
    const body = await readAll(req);
    httpChecks.push({ headers: req.headers, body });
    if (body.includes("let-me-in")) res.writeHead(200).end();
    else res.writeHead(403, { "content-type": "text/plain" }).end("no entry without let-me-in");
  });
  // The application echoes gRPC frames back as a gRPC answer (HTTP/1.1 with a grpc-status trailer).
  app = createServer(async (req, res) => {
    const body = await readAll(req);
    seen.push({ path: req.url ?? "", headers: req.headers, body });
    if (req.headers["content-type"] === "application/grpc") {
      res.writeHead(200, { "content-type": "application/grpc", trailer: "grpc-status" });
      res.addTrailers({ "grpc-status": "0" });
      res.end(body);
      return;
    }
    res.end("app\n");
  });
  const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  const [appPort, httpAuthzPort] = [await listen(app), await listen(httpAuthz)];
  await mkdir(join(dir, "logs"));
  await mkdir(join(dir, "config"));
  await writeFile(join(dir, "config", "policies.yaml"), [policy("strict", "body-grpc"), policy("partial", "body-grpc-partial"), policy("http", "body-http")].join("---\n"));
  await writeFile(
    join(dir, "mesh.yaml"),
    `extensionProviders:
- name: body-grpc
  envoyExtAuthzGrpc: { service: 127.0.0.1, port: ${grpcAuthz.port}, timeout: 2s, includeRequestBodyInCheck: { maxRequestBytes: 16 } }
- name: body-grpc-partial
  envoyExtAuthzGrpc: { service: 127.0.0.1, port: ${grpcAuthz.port}, timeout: 2s, includeRequestBodyInCheck: { maxRequestBytes: 16, allowPartialMessage: true, packAsBytes: true } }
- name: body-http
  envoyExtAuthzHttp: { service: 127.0.0.1, port: ${httpAuthzPort}, timeout: 2s, includeRequestBodyInCheck: { maxRequestBytes: 16, allowPartialMessage: true } }
`,
  );
  for (const name of ["strict", "partial", "http"] as const) {
    sidecars[name] = await startTestSidecar(
      ["--config", join(dir, "config"), "--mesh-config", join(dir, "mesh.yaml"), "--namespace", "foo", "--labels", `app=${name}`, "--app-port", String(appPort)],
      join(dir, "logs"),
      name,
    );
  }
});

afterAll(async () => {
  for (const sidecar of Object.values(sidecars)) await sidecar?.stop();
  await grpcAuthz?.close();
  app?.close();
  httpAuthz?.close();
  await rm(dir, { recursive: true, force: true });
});

function inbound(name: Workload): number {
  return (sidecars[name] as TestSidecar).port("inbound");
}

interface Sent {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** The body in pieces: one piece goes with Content-Length, several chunked (one event-loop turn apart). */
  readonly pieces?: readonly Buffer[];
  /** Send `Expect: 100-continue` and the body only after the 100. */
  readonly expectContinue?: boolean;
}

/** An HTTP/1.1 request to a sidecar's inbound listener with Host httpbin.foo:8000; `continues` counts the 100 Continue answers. */
function send(name: Workload, path: string, sent: Sent = {}): Promise<{ status: number; body: string; continues: number }> {
  const pieces = sent.pieces ?? [];
  const framing: Record<string, string> = pieces.length === 1 ? { "content-length": String((pieces[0] as Buffer).length) } : {};
  return new Promise((resolve, reject) => {
    let continues = 0;
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: inbound(name),
        method: sent.method ?? (pieces.length > 0 ? "POST" : "GET"),
        path,
        headers: { host: "httpbin.foo:8000", ...framing, ...(sent.expectContinue ? { expect: "100-continue" } : {}), ...sent.headers },
        agent: false,
      },
      async (res) => resolve({ status: res.statusCode ?? 0, body: (await readAll(res)).toString(), continues }),
    );
    req.on("continue", () => (continues += 1));
    req.on("error", reject);
    const write = async (): Promise<void> => {
      for (const piece of pieces) {
        req.write(piece);
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    };
    if (sent.expectContinue) req.once("continue", () => void write());
    else void write();
  });
}

describe("includeRequestBodyInCheck on a real sidecar (HTTP/1.1)", () => {
  it("checks with the whole body within maxRequestBytes, then forwards it unchanged", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    expect(await send("strict", "/upload", { pieces: [Buffer.from("let-me-in")] })).toMatchObject({ status: 200, body: "app\n" });
    const http = grpcAuthz.checks[before]?.request["attributes"].request.http;
    expect(http).toMatchObject({ method: "POST", body: "let-me-in", size: 9 });
    expect(http.raw_body).toBeUndefined();
    expect(http.headers["x-envoy-auth-partial-body"]).toBe("false");
    expect(seen.map((s) => [s.path, s.body.toString()])).toEqual([["/upload", "let-me-in"]]);
  });

  it("decodes a chunked body for the check and forwards its chunks as they came", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    expect(await send("strict", "/upload", { pieces: [Buffer.from("let-"), Buffer.from("me-in")] })).toMatchObject({ status: 200 });
    expect(grpcAuthz.checks[before]?.request["attributes"].request.http.body).toBe("let-me-in");
    expect(seen.at(-1)?.headers["transfer-encoding"]).toBe("chunked");
    expect(seen.at(-1)?.body.toString()).toBe("let-me-in");
  });

  it("answers the authorizer's denial of a body without reaching the application", async () => {
    seen.length = 0;
    const denied = await send("strict", "/upload", { pieces: [Buffer.from("nope")] });
    expect(denied.status).toBe(403);
    expect(denied.body).toBe("denied by ext_authz for not found header `x-ext-authz: allow` in the request");
    expect(seen).toEqual([]);
  });

  it("answers 413 for a body over maxRequestBytes without asking the authorizer, and logs request_payload_too_large", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    const reply = await send("strict", "/upload", { pieces: [Buffer.from("let-me-in-0123456789")] });
    expect(reply).toMatchObject({ status: 413, body: "Payload Too Large" });
    const chunked = await send("strict", "/upload", { pieces: [Buffer.from("let-me-in-"), Buffer.from("0123456789")] });
    expect(chunked.status).toBe(413);
    expect(grpcAuthz.checks.length).toBe(before);
    expect(seen).toEqual([]);
    const line = await eventually(
      "the 413's access-log line",
      async () => (await (sidecars.strict as TestSidecar).accessLog()).find((l) => l["path"] === "/upload" && l["response_code"] === 413),
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(line).toMatchObject({ response_code_details: "request_payload_too_large" });
  });

  it("answers a client that waits for 100-continue itself (once: the upstream is not asked again), then checks with its body", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    expect(await send("strict", "/upload", { pieces: [Buffer.from("let-me-in")], expectContinue: true })).toEqual({ status: 200, body: "app\n", continues: 1 });
    expect(grpcAuthz.checks[before]?.request["attributes"].request.http.body).toBe("let-me-in");
    expect(seen.at(-1)?.headers["expect"]).toBeUndefined();
    expect(seen.at(-1)?.body.toString()).toBe("let-me-in");
  });

  it("checks a request without a body without one (no partial-body header)", async () => {
    const before = grpcAuthz.checks.length;
    expect((await send("strict", "/upload")).status).toBe(403);
    const http = grpcAuthz.checks[before]?.request["attributes"].request.http;
    expect(http.body).toBeUndefined();
    expect(http.headers["x-envoy-auth-partial-body"]).toBeUndefined();
  });

  it("streams the bodies of requests no CUSTOM rule matches, without a check", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    const body = patternedBody(1 << 20);
    expect(await send("strict", "/other", { pieces: [body] })).toMatchObject({ status: 200 });
    expect(grpcAuthz.checks.length).toBe(before);
    expect(seen.at(-1)?.body.equals(body)).toBe(true);
  });

  it("with allowPartialMessage checks the first maxRequestBytes as raw_body (packAsBytes), flagged partial, and forwards every byte", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    const body = Buffer.concat([Buffer.from("let-me-in"), patternedBody(256 * 1024)]);
    const pieces = [body.subarray(0, 5), body.subarray(5, 70_000), body.subarray(70_000)];
    expect(await send("partial", "/upload", { pieces })).toMatchObject({ status: 200 });
    const http = grpcAuthz.checks[before]?.request["attributes"].request.http;
    expect(Buffer.from(http.raw_body as Buffer)).toEqual(body.subarray(0, 16));
    expect(http.body).toBeUndefined();
    expect(http.headers["x-envoy-auth-partial-body"]).toBe("true");
    expect(seen.at(-1)?.body.equals(body)).toBe(true);
  });

  it("sends an envoyExtAuthzHttp provider the body as its check's body, cut at maxRequestBytes and flagged partial", async () => {
    seen.length = 0;
    httpChecks.length = 0;
    const body = Buffer.from("let-me-in, and then a good deal more");
    expect(await send("http", "/upload", { pieces: [body] })).toMatchObject({ status: 200 });
    expect(httpChecks[0]?.body.toString()).toBe("let-me-in, and t");
    expect(httpChecks[0]?.headers).toMatchObject({ "content-length": "16", "x-envoy-auth-partial-body": "true" });
    expect(seen.at(-1)?.body.equals(body)).toBe(true);
    const denied = await send("http", "/upload", { pieces: [Buffer.from("who am i")] });
    expect(denied).toMatchObject({ status: 403, body: "no entry without let-me-in" });
    expect(httpChecks[1]?.headers).toMatchObject({ "content-length": "8", "x-envoy-auth-partial-body": "false" });
  });
});

describe("includeRequestBodyInCheck on a real sidecar (HTTP/2 and gRPC)", () => {
  it("checks an HTTP/2 request with its body (protocol HTTP/2) and forwards it", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    const session = h2Connect(inbound("strict"));
    try {
      const reply = await h2Request(session, { ":path": "/upload", ":authority": "httpbin.foo:8000" }, "let-me-in");
      expect(reply).toMatchObject({ status: 200, body: "app\n" });
      expect((await h2Request(session, { ":path": "/upload", ":authority": "httpbin.foo:8000" }, "let-me-in-0123456789")).status).toBe(413);
    } finally {
      session.close();
    }
    expect(grpcAuthz.checks[before]?.request["attributes"].request.http).toMatchObject({ protocol: "HTTP/2", body: "let-me-in" });
    expect(grpcAuthz.checks.length).toBe(before + 1);
    expect(seen.map((s) => s.body.toString())).toEqual(["let-me-in"]);
  });

  it("forwards every byte of a large HTTP/2 body after a partial check", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    const body = Buffer.concat([Buffer.from("let-me-in"), patternedBody(300 * 1024)]);
    const session = h2Connect(inbound("partial"));
    try {
      expect((await h2Request(session, { ":path": "/upload", ":authority": "httpbin.foo:8000" }, body)).status).toBe(200);
    } finally {
      session.close();
    }
    expect(Buffer.from(grpcAuthz.checks[before]?.request["attributes"].request.http.raw_body as Buffer)).toEqual(body.subarray(0, 16));
    expect(seen.at(-1)?.body.equals(body)).toBe(true);
  });

  it("checks a gRPC call with its length-prefixed message as the body: allowed, denied, or too large", async () => {
    seen.length = 0;
    const before = grpcAuthz.checks.length;
    const client = echoClient(inbound("strict"), "httpbin.foo:8000");
    const call = (text: string) =>
      new Promise<{ error: grpc.ServiceError | null; response: string | undefined }>((resolve) => client.unary(Buffer.from(text), (error, response) => resolve({ error, response: response?.toString() })));
    try {
      expect(await call("let-me-in")).toEqual({ error: null, response: "let-me-in" });
      // The gRPC frame: no compression, a 4-byte length, the message.
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 9]), Buffer.from("let-me-in")]);
      expect(checkedBody(grpcAuthz.checks[before]?.request)).toEqual(frame);
      expect(seen.at(-1)?.body).toEqual(frame);
      expect((await call("nope")).error).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: "denied by ext_authz for not found header `x-ext-authz: allow` in the request" });
      // 20 bytes of message make a 25-byte frame: over 16, answered 413 (gRPC UNKNOWN, as Envoy maps it).
      expect((await call("let-me-in-0123456789")).error).toMatchObject({ code: grpc.status.UNKNOWN, details: "Payload Too Large" });
    } finally {
      client.close();
    }
    expect(grpcAuthz.checks.length).toBe(before + 2);
  });
});
