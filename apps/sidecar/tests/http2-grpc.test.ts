// gRPC through the sidecar's HTTP/2 path with real @grpc/grpc-js clients and servers: unary and
// server-streaming calls, status and trailers propagated, fault abort with grpcStatus, retries
// on `unavailable`, timeouts and circuit-breaker overflow as gRPC status (Envoy's local replies
// for gRPC requests: HTTP 200 trailers-only with grpc-status mapped from the HTTP status).
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { startHttp2Proxy, type Http2ProxyFixture } from "./support/h2-proxy-fixture.ts";
import { echoClient, h2ServiceEntryYaml, startGrpcUpstream, type EchoHandlers, type GrpcUpstream } from "./support/h2-upstream-server.ts";

let proxy: Http2ProxyFixture | undefined;
let upstream: GrpcUpstream | undefined;
let client: grpc.Client | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await proxy?.close();
  proxy = undefined;
  await upstream?.close();
  upstream = undefined;
});

const echoHandlers: EchoHandlers = {
  unary: (call, callback) => callback(null, Buffer.concat([Buffer.from("echo:"), call.request])),
  stream: (call) => {
    for (const part of ["one", "two", "three"]) call.write(Buffer.from(part));
    call.end();
  },
};

function unary(c: ReturnType<typeof echoClient>, text: string): Promise<{ error: grpc.ServiceError | null; response: string | undefined }> {
  return new Promise((resolve) => c.unary(Buffer.from(text), (error, response) => resolve({ error, response: response?.toString() })));
}

async function start(handlers: EchoHandlers, routes = ""): Promise<ReturnType<typeof echoClient>> {
  upstream = await startGrpcUpstream(handlers);
  proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("echo.test", 50051, [upstream.port], "GRPC")}${routes === "" ? "" : `---\n${routes}`}`);
  const c = echoClient(proxy.port, "echo.test:50051");
  client = c;
  return c;
}

function virtualService(http: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.test]
  http:
${http}`;
}

describe("gRPC through the HTTP/2 path", () => {
  it("proxies a unary call and a server-streaming call to a gRPC server", async () => {
    const c = await start(echoHandlers);
    const result = await unary(c, "hi");
    expect(result.error).toBeNull();
    expect(result.response).toBe("echo:hi");
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = c.stream(Buffer.from("x"));
      call.on("data", (m: Buffer) => messages.push(m.toString()));
      call.on("status", (status: grpc.StatusObject) => (status.code === grpc.status.OK ? resolve() : reject(new Error(status.details))));
      call.on("error", reject);
    });
    expect(messages).toEqual(["one", "two", "three"]);
    expect(upstream?.calls).toEqual(["/test.Echo/Unary", "/test.Echo/Stream"]);
    expect(proxy?.records().map((r) => [r.protocol, r.responseCode, r.grpcStatus])).toEqual([
      ["HTTP/2", 200, 0],
      ["HTTP/2", 200, 0],
    ]);
  });

  it("propagates an error status and its message and metadata from the server", async () => {
    const c = await start({
      ...echoHandlers,
      unary: (_call, callback) => {
        const metadata = new grpc.Metadata();
        metadata.set("x-why", "missing");
        callback({ code: grpc.status.NOT_FOUND, details: "no such thing", metadata });
      },
    });
    const result = await unary(c, "x");
    expect(result.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(result.error?.details).toBe("no such thing");
    expect(result.error?.metadata.get("x-why")).toEqual(["missing"]);
    expect(proxy?.records()[0]).toMatchObject({ responseCode: 200, grpcStatus: grpc.status.NOT_FOUND, responseFlags: "" });
  });

  it("answers a fault abort with grpcStatus as that gRPC status without calling the server", async () => {
    const c = await start(
      echoHandlers,
      virtualService(`    - fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100 } } }
      route: [{ destination: { host: echo.test } }]
`),
    );
    const result = await unary(c, "x");
    expect(result.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(result.error?.details).toBe("fault filter abort");
    expect(upstream?.calls).toEqual([]);
    expect(proxy?.records()[0]).toMatchObject({ responseFlags: "FI", grpcStatus: 14, attempts: 0 });
  });

  it("retries a trailers-only UNAVAILABLE when retryOn has `unavailable`, and not otherwise", async () => {
    let n = 0;
    const flaky: EchoHandlers = {
      ...echoHandlers,
      unary: (call, callback) => {
        n += 1;
        if (n % 2 === 1) callback({ code: grpc.status.UNAVAILABLE, details: "try again" });
        else echoHandlers.unary(call, callback);
      },
    };
    const c = await start(
      flaky,
      virtualService(`    - match: [{ headers: { x-retry: { exact: "yes" } } }]
      retries: { attempts: 2, retryOn: unavailable }
      route: [{ destination: { host: echo.test } }]
    - retries: { attempts: 2, retryOn: internal }
      route: [{ destination: { host: echo.test } }]
`),
    );
    const metadata = new grpc.Metadata();
    metadata.set("x-retry", "yes");
    const retried = await new Promise<{ error: grpc.ServiceError | null; response?: Buffer }>((resolve) =>
      c.unary(Buffer.from("r"), metadata, (error: grpc.ServiceError | null, response?: Buffer) => resolve({ error, response })),
    );
    expect(retried.error).toBeNull();
    expect(retried.response?.toString()).toBe("echo:r");
    expect(proxy?.records()[0]).toMatchObject({ attempts: 2, grpcStatus: 0 });
    const notRetried = await unary(c, "s");
    expect(notRetried.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(notRetried.error?.details).toBe("try again");
    expect(proxy?.records()[1]).toMatchObject({ attempts: 1, grpcStatus: 14 });
  });

  it("answers a per-try timeout as UNAVAILABLE (504 mapped), flag UT", async () => {
    const c = await start(
      { ...echoHandlers, unary: (call, callback) => setTimeout(() => echoHandlers.unary(call, callback), 1000) },
      virtualService(`    - retries: { attempts: 1, perTryTimeout: 100ms, retryOn: connect-failure }
      route: [{ destination: { host: echo.test } }]
`),
    );
    const result = await unary(c, "slow");
    expect(result.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(result.error?.details).toBe("upstream request timeout");
    expect(proxy?.records()[0]).toMatchObject({ responseFlags: "UT", details: "upstream_per_try_timeout", grpcStatus: 14 });
  });

  it("answers circuit-breaker overflow (http2MaxRequests) as UNAVAILABLE, flag UO", async () => {
    // The first call is held at the server until the proxy has answered the second one.
    const c = await start(
      {
        ...echoHandlers,
        unary: (call, callback) => {
          const check = setInterval(() => {
            if ((proxy?.finished.length ?? 0) < 1) return;
            clearInterval(check);
            echoHandlers.unary(call, callback);
          }, 5);
        },
      },
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: echo.test
  trafficPolicy:
    connectionPool: { http: { http2MaxRequests: 1 } }
`,
    );
    const first = unary(c, "a");
    while ((upstream?.calls.length ?? 0) < 1) await new Promise((r) => setTimeout(r, 5));
    const second = await unary(c, "b");
    expect(second.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(second.error?.details).toContain("overflow");
    expect((await first).error).toBeNull();
    expect(proxy?.records().map((r) => r.responseFlags)).toEqual(["UO", ""]);
    expect(proxy?.records()[0]?.grpcStatus).toBe(14);
  });
});
