// Router mode (the ingress gateway, `--proxy-mode router`) on a real sidecar: it listens on the
// ports of the Gateways whose selector matches its labels and routes with the VirtualServices
// bound to them, as Istio's bookinfo-gateway task does; hosts a server does not admit and paths
// no route matches are 404 NR; a config that removes the Gateway closes its port.
import { createServer, request as httpRequest, type Server } from "node:http";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let dir: string;
let app: Server;
let gatewayPort: number;
let sidecar: TestSidecar;

const config = (appPort: number, port: number, gatewayHosts: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: productpage, namespace: default }
spec:
  hosts: [productpage.default.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${appPort} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${port}, name: http, protocol: HTTP }
    hosts: [${gatewayHosts}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo, namespace: default }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{ uri: { exact: /productpage } }, { uri: { prefix: /static } }]
    route:
    - destination: { host: productpage, port: { number: 9080 } }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-router-"));
  await mkdir(join(dir, "config"));
  app = createServer((request, response) => response.end(`productpage ${request.url} host=${request.headers.host}\n`));
  const appPort = await new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as net.AddressInfo).port)));
  gatewayPort = await freePort();
  await writeFile(join(dir, "config", "bookinfo.yaml"), config(appPort, gatewayPort, '"*"'));
  sidecar = await startTestSidecar(["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway,app=istio-ingressgateway", "--namespace", "istio-system"], dir, "gateway");
});

afterAll(async () => {
  await sidecar?.stop();
  app?.close();
  await rm(dir, { recursive: true, force: true });
});

/** GET through the gateway with a Host header (fetch does not let a caller set Host). */
function get(path: string, host = "bookinfo.example.com"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: gatewayPort, path, headers: { host }, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

describe("router mode", () => {
  it("serves the Gateway's port and routes with the VirtualService bound to it", async () => {
    expect(sidecar.port(`gateway-${gatewayPort}`)).toBe(gatewayPort);
    expect(await get("/productpage")).toEqual({ status: 200, body: "productpage /productpage host=bookinfo.example.com\n" });
    expect(await get("/static/app.css")).toMatchObject({ status: 200 });
  });

  it("answers 404 NR for a path no route of the gateway matches", async () => {
    expect((await get("/admin")).status).toBe(404);
    // The writer batches lines: the request's may reach the file a moment after the answer.
    const line = await eventually("the /admin access-log line", async () => (await sidecar.accessLog()).find((l) => l["path"] === "/admin"), { timeoutMs: 5_000, intervalMs: 20 });
    expect(line).toMatchObject({ response_code: 404, response_flags: "NR" });
  });

  it("admits only the hosts a server lists, and closes the port when the Gateway goes away", async () => {
    const text = await readFile(join(dir, "config", "bookinfo.yaml"), "utf8");
    await writeFile(join(dir, "config", "bookinfo.yaml"), text.replace('hosts: ["*"]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService', 'hosts: ["bookinfo.example.com"]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService'));
    let other = await get("/productpage", "other.example.com");
    for (let i = 0; i < 100 && other.status !== 404; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      other = await get("/productpage", "other.example.com");
    }
    expect(other.status).toBe(404);
    expect((await get("/productpage")).status).toBe(200);

    await writeFile(join(dir, "config", "bookinfo.yaml"), text.split("---\n")[0] as string);
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      refused = await get("/productpage").then(
        () => false,
        () => true,
      );
    }
    expect(refused).toBe(true);
  });
});
