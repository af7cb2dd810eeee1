// The node:http2 gRPC server against grpc-js clients (the peer every workload agent uses) and
// raw HTTP/2 requests for what grpc-js never sends: statuses, messages, metadata, deadlines,
// streams ended on shutdown, and malformed requests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as http2Connect, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, makeGenericClientConstructor, status, type Client, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcHttp2Server, type ServerStream } from "./grpc-http2-server.ts";
import { textMethod } from "../../tests/text-method.ts";

const methods = {
  echo: textMethod("/test.Echo/Echo"),
  refuse: textMethod("/test.Echo/Refuse"),
  hang: textMethod("/test.Echo/Hang"),
  crash: textMethod("/test.Echo/Crash"),
  watch: textMethod("/test.Echo/Watch", { responseStream: true }),
};

let dir: string;
let server: GrpcHttp2Server;
let port: number;
let cert: Buffer;
const errors: string[] = [];
const streams: ServerStream<string>[] = [];
let client: Client & Record<string, (...args: unknown[]) => unknown>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grpc-http2-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
  cert = readFileSync(join(dir, "cert.pem"));
  server = new GrpcHttp2Server({ tls: { cert, key: readFileSync(join(dir, "key.pem")) }, onError: (error, path) => errors.push(`${path}: ${(error as Error).message}`) });
  server.addUnary(methods.echo, async (request, call) => ({ ok: true, response: `${request} from ${call.peer.startsWith("127.0.0.1:") ? "loopback" : call.peer}` }));
  server.addUnary(methods.refuse, async (request) => ({ ok: false, failure: { code: 7, details: `no: ${request} 100% ✗`, metadata: { "meshwork-reason": "because" } } }));
  server.addUnary(methods.hang, () => new Promise(() => undefined));
  server.addUnary(methods.crash, async () => {
    throw new Error("boom");
  });
  server.addServerStream(methods.watch, (request, stream) => {
    streams.push(stream);
    stream.write(`${request}-1`);
    stream.write(`${request}-2`);
  });
  port = await server.listen("127.0.0.1", 0);
  const Constructor = makeGenericClientConstructor(methods as never, "Echo");
  client = new Constructor(`localhost:${port}`, credentials.createSsl(cert)) as typeof client;
});

afterAll(async () => {
  client?.close();
  await server?.close(100);
  rmSync(dir, { recursive: true, force: true });
});

function unary(method: string, request: string, metadata = new Metadata(), deadlineMs?: number): Promise<{ value?: string; error?: ServiceError }> {
  return new Promise((resolve) => {
    const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    client[method]?.(request, metadata, options, (error: ServiceError | null, value: string) => resolve(error ? { error } : { value }));
  });
}

function raw(headers: Record<string, string>, body: Buffer): Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: Buffer }> {
  const session: ClientHttp2Session = http2Connect(`https://localhost:${port}`, { ca: cert });
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ...headers });
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

const framed = (payload: string, flag = 0): Buffer => {
  const bytes = Buffer.from(payload);
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flag;
  out.writeUInt32BE(bytes.length, 1);
  bytes.copy(out, 5);
  return out;
};

describe("GrpcHttp2Server", () => {
  it("answers a grpc-js unary call with the handler's response and the caller's address", async () => {
    expect(await unary("echo", "hello")).toEqual({ value: "hello from loopback" });
  });

  it("sends a refusal's status, percent-encoded message and metadata that grpc-js decodes", async () => {
    const { error } = await unary("refuse", "x");
    expect(error?.code).toBe(status.PERMISSION_DENIED);
    expect(error?.details).toBe("no: x 100% ✗");
    expect(error?.metadata.get("meshwork-reason")).toEqual(["because"]);
  });

  it("answers INTERNAL when a handler throws, and reports the error", async () => {
    const { error } = await unary("crash", "x");
    expect(error?.code).toBe(status.INTERNAL);
    expect(errors).toContain("/test.Echo/Crash: boom");
  });

  it("ends a call past its grpc-timeout with DEADLINE_EXCEEDED", async () => {
    const reply = await raw({ ":path": methods.hang.path, "content-type": "application/grpc", "grpc-timeout": "20m" }, framed("x"));
    expect(reply.headers["grpc-status"]).toBe(String(status.DEADLINE_EXCEEDED));
  });

  it("streams server messages to a grpc-js client and ends them with OK on close", async () => {
    const received: string[] = [];
    const call = client["watch"]?.("b", new Metadata()) as NodeJS.EventEmitter;
    const ended = new Promise<{ code: number }>((resolve) => call.on("status", resolve));
    call.on("data", (message: string) => received.push(message));
    await new Promise<void>((resolve) => {
      const poll = (): void => (received.length === 2 ? resolve() : void setTimeout(poll, 5));
      poll();
    });
    streams.at(-1)?.end();
    expect((await ended).code).toBe(status.OK);
    expect(received).toEqual(["b-1", "b-2"]);
  });

  it("runs a stream's onClose when the client cancels", async () => {
    const call = client["watch"]?.("c", new Metadata()) as NodeJS.EventEmitter & { cancel(): void };
    call.on("error", () => undefined);
    await new Promise<void>((resolve) => call.once("data", () => resolve()));
    const stream = streams.at(-1) as ServerStream<string>;
    const closed = new Promise<void>((resolve) => stream.onClose(resolve));
    call.cancel();
    await closed;
  });

  it("answers UNIMPLEMENTED for a method it does not serve", async () => {
    const reply = await raw({ ":path": "/test.Echo/Nope", "content-type": "application/grpc" }, framed("x"));
    expect(reply.headers[":status"]).toBe(200);
    expect(reply.headers["grpc-status"]).toBe(String(status.UNIMPLEMENTED));
  });

  it("answers HTTP 415 to a request that is not gRPC", async () => {
    const reply = await raw({ ":path": methods.echo.path, "content-type": "application/json" }, Buffer.from("{}"));
    expect(reply.headers[":status"]).toBe(415);
  });

  it("refuses compressed messages it cannot decode and says which encoding it accepts", async () => {
    const reply = await raw({ ":path": methods.echo.path, "content-type": "application/grpc", "grpc-encoding": "gzip" }, framed("x", 1));
    expect(reply.headers["grpc-status"]).toBe(String(status.UNIMPLEMENTED));
    expect(reply.headers["grpc-accept-encoding"]).toBe("identity");
  });

  it("refuses a unary request with no message, a truncated one, or two", async () => {
    for (const body of [Buffer.alloc(0), framed("hello").subarray(0, 7), Buffer.concat([framed("a"), framed("b")])]) {
      const reply = await raw({ ":path": methods.echo.path, "content-type": "application/grpc" }, body);
      expect(reply.headers["grpc-status"]).toBe(String(status.INTERNAL));
    }
  });

  it("answers a message split across DATA frames", async () => {
    const body = framed("split");
    const session = http2Connect(`https://localhost:${port}`, { ca: cert });
    const stream = session.request({ ":method": "POST", ":path": methods.echo.path, "content-type": "application/grpc" });
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    const done = new Promise<void>((resolve) => stream.on("end", resolve));
    stream.write(body.subarray(0, 3));
    stream.end(body.subarray(3));
    await done;
    session.close();
    expect(Buffer.concat(chunks).subarray(5).toString()).toBe("split from loopback");
  });
});
