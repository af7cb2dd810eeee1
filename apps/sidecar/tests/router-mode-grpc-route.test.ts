// Router mode serving a Gateway API GRPCRoute: a Gateway of class istio with an HTTP listener (h2c)
// and a GRPCRoute sending helloworld.Greeter/SayHello to one backend and the rest of the service
// to another. A real sidecar (`--config DIR`), real grpc-js servers and client through
// @grpc/proto-loader and support/greeter.proto.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

const definitions = loadSync(join(import.meta.dirname, "support", "greeter.proto"), { keepCase: true, defaults: true });
const greeterService = definitions["helloworld.Greeter"] as grpc.ServiceDefinition;
const GreeterClient = grpc.makeGenericClientConstructor(greeterService, "Greeter");

let dir: string;
let servers: grpc.Server[] = [];
let client: grpc.Client | undefined;
let sidecar: TestSidecar;
let listenerPort: number;

const configYaml = (v1Port: number, v2Port: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: greeter-v1, namespace: default }
spec:
  hosts: [greeter-v1.default.svc.cluster.local]
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${v1Port} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: greeter-v2, namespace: default }
spec:
  hosts: [greeter-v2.default.svc.cluster.local]
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${v2Port} } }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: istio-ingress }
spec:
  gatewayClassName: istio
  listeners:
  - name: grpc
    port: ${listenerPort}
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes: { namespaces: { from: All } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: greeter, namespace: default }
spec:
  parentRefs: [{ name: web, namespace: istio-ingress }]
  hostnames: [grpc.example.com]
  rules:
  - matches: [{ method: { service: helloworld.Greeter, method: SayHello } }]
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier: { set: [{ name: x-route, value: say-hello }] }
    backendRefs: [{ name: greeter-v1, port: 50051 }]
  - matches: [{ method: { service: helloworld.Greeter } }]
    backendRefs: [{ name: greeter-v2, port: 50051 }]
`;

async function startGreeter(name: string): Promise<number> {
  const server = new grpc.Server();
  const answer = (verb: string): grpc.handleUnaryCall<{ name: string }, { message: string }> => (call, callback) => callback(null, { message: `${name} ${verb} ${call.request.name}` });
  server.addService(greeterService, { SayHello: answer("hello"), SayGoodbye: answer("goodbye") });
  servers.push(server);
  return new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))));
}

type UnaryMethod = (request: { name: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: { message: string }) => void) => grpc.ClientUnaryCall;

/** One unary call through the router; `route` is the x-route response header (set by the first rule only). */
function call(method: "SayHello" | "SayGoodbye", name: string): Promise<{ error: grpc.ServiceError | null; message: string | undefined; route: grpc.MetadataValue[] }> {
  const c = client as unknown as Record<typeof method, UnaryMethod>;
  return new Promise((resolve) => {
    let route: grpc.MetadataValue[] = [];
    const pending = c[method]({ name }, { deadline: Date.now() + 5_000 }, (error, reply) => resolve({ error, message: reply?.message, route }));
    pending.on("metadata", (metadata: grpc.Metadata) => (route = metadata.get("x-route")));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-grpc-route-"));
  await mkdir(join(dir, "config"));
  const [v1Port, v2Port] = [await startGreeter("v1"), await startGreeter("v2")];
  listenerPort = await freePort();
  await writeFile(join(dir, "config", "grpc-route.yaml"), configYaml(v1Port, v2Port));
  sidecar = await startTestSidecar(["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "gateway.networking.k8s.io/gateway-name=web", "--namespace", "istio-ingress"], dir, "grpc-route");
  // The authority is the route's hostname; the connection goes to the router's listener (h2c).
  client = new GreeterClient(`127.0.0.1:${listenerPort}`, grpc.credentials.createInsecure(), { "grpc.default_authority": "grpc.example.com" });
}, 60_000);

afterAll(async () => {
  client?.close();
  await sidecar?.stop();
  for (const server of servers) server.forceShutdown();
  servers = [];
  await rm(dir, { recursive: true, force: true });
});

describe("router mode serving a Gateway API GRPCRoute", () => {
  it("sends the exactly matched method to the first backend, with the rule's response header", async () => {
    const answer = await call("SayHello", "ada");
    expect(answer.error).toBeNull();
    expect(answer.message).toBe("v1 hello ada");
    expect(answer.route).toEqual(["say-hello"]);
  });

  it("sends the service's other methods to the second backend (service-only match)", async () => {
    const answer = await call("SayGoodbye", "ada");
    expect(answer.error).toBeNull();
    expect(answer.message).toBe("v2 goodbye ada");
    expect(answer.route).toEqual([]);
  });
});
