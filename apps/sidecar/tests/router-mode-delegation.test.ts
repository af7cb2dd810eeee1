// VirtualService delegation on a real sidecar in router mode (Istio's "VirtualService › Delegate":
// an ingress root VirtualService hands path prefixes to the teams' VirtualServices). The root in
// istio-system delegates /productpage to bookinfo/productpage (exported to istio-system only) and
// /reviews to reviews-team/reviews, whose routes split by a longer prefix onto DestinationRule
// subsets; requests reach the right real upstream, and a route delegating to a VirtualService that
// does not exist is reported and skipped while the rest keeps serving.
import { request as httpRequest } from "node:http";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let dir: string;
let gatewayPort: number;
let sidecar: TestSidecar;
let productpage: UpstreamServer;
let reviewsV1: UpstreamServer;
let reviewsV2: UpstreamServer;

const serviceEntry = (name: string, namespace: string, upstreams: readonly UpstreamServer[]): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: [${name}.${namespace}.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints:
${upstreams.map((u) => `  - { address: 127.0.0.1, ports: { http: ${u.port} }, labels: { version: ${u.name.replace(/^.*-/, "")} } }`).join("\n")}
`;

const config = (): string =>
  [
    serviceEntry("productpage", "bookinfo", [productpage]),
    serviceEntry("reviews", "reviews-team", [reviewsV1, reviewsV2]),
    `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ingress, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${gatewayPort}, name: http, protocol: HTTP }
    hosts: [bookinfo.example.com]
`,
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo, namespace: istio-system }
spec:
  hosts: [bookinfo.example.com]
  gateways: [ingress]
  http:
  - name: productpage
    match: [{ uri: { prefix: /productpage } }]
    delegate: { name: productpage, namespace: bookinfo }
  - name: reviews
    match: [{ uri: { prefix: /reviews } }]
    delegate: { name: reviews, namespace: reviews-team }
  - name: ratings
    match: [{ uri: { prefix: /ratings } }]
    delegate: { name: ratings, namespace: ratings-team }
`,
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: productpage, namespace: bookinfo }
spec:
  exportTo: [istio-system]
  http:
  - route: [{ destination: { host: productpage, port: { number: 9080 } } }]
`,
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: reviews-team }
spec:
  http:
  - name: v2
    match: [{ uri: { prefix: /reviews/v2 } }]
    route: [{ destination: { host: reviews, subset: v2, port: { number: 9080 } } }]
  - route: [{ destination: { host: reviews, subset: v1, port: { number: 9080 } } }]
`,
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: reviews-team }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`,
  ].join("---\n");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-delegation-"));
  await mkdir(join(dir, "config"));
  productpage = await startUpstream("productpage");
  reviewsV1 = await startUpstream("reviews-v1");
  reviewsV2 = await startUpstream("reviews-v2");
  gatewayPort = await freePort();
  await writeFile(join(dir, "config", "bookinfo.yaml"), config());
  sidecar = await startTestSidecar(["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway", "--namespace", "istio-system"], dir, "gateway");
});

afterAll(async () => {
  await sidecar?.stop();
  for (const upstream of [productpage, reviewsV1, reviewsV2]) await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

/** GET through the gateway with a Host header (fetch does not let a caller set Host). */
function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: gatewayPort, path, headers: { host: "bookinfo.example.com" }, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

describe("router mode with delegated routes", () => {
  it("sends each path prefix to the upstream its delegate VirtualService routes it to", async () => {
    expect(await get("/productpage")).toEqual({ status: 200, body: "productpage" });
    expect(await get("/reviews/0")).toEqual({ status: 200, body: "reviews-v1" });
    expect(await get("/reviews/v2/0")).toEqual({ status: 200, body: "reviews-v2" });
    expect(productpage.requests.map((r) => r.url)).toEqual(["/productpage"]);
    expect(reviewsV1.requests.map((r) => r.url)).toEqual(["/reviews/0"]);
    expect(reviewsV2.requests.map((r) => r.url)).toEqual(["/reviews/v2/0"]);
  });

  it("answers 404 for paths outside the delegated prefixes and for a route whose delegate does not exist, and says why", async () => {
    expect((await get("/details")).status).toBe(404);
    expect((await get("/ratings/1")).status).toBe(404);
    const dump = (await (await fetch(`http://127.0.0.1:${sidecar.port("admin")}/config_dump`)).json()) as { warnings: string[]; routes: Record<string, string[]> };
    expect(dump.warnings).toContainEqual(expect.stringContaining('VirtualService "istio-system/bookinfo" route "ratings" (http[2]): delegate VirtualService "ratings-team/ratings" does not exist'));
    expect(dump.routes["istio-system/ingress"]).toContainEqual("route reviews-v2 vs=istio-system/bookinfo http[1] delegate=reviews-team/reviews http[0] match[0]");
  });
});
