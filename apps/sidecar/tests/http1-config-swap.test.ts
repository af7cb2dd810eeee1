// A config push while requests are in flight: the in-flight request finishes on the route it
// started with, new requests take the new route, and no client connection is dropped.
import { Agent, request } from "node:http";
import { describe, expect, it } from "vitest";
import { eventually, useHarness } from "./support/harness.ts";
import { destinationRuleYaml, docs, routeYaml } from "./support/mesh-yaml.ts";
import { serviceEntryYaml } from "./support/upstream-server.ts";

const h = useHarness();

interface Answer {
  readonly status: number;
  readonly body: string;
  /** Whether the client sent this request on a connection it had used before. */
  readonly reused: boolean;
  readonly localPort: number;
}

function get(port: number, agent: Agent, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent, headers: { host: "svc.test" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket, localPort: req.socket?.localPort ?? 0 }));
    });
    req.on("error", reject);
    req.end();
  });
}

const subsets = `- { name: va, labels: { version: a } }
- { name: vb, labels: { version: b } }`;

describe("config swap", () => {
  it("in-flight requests finish on the old route, new ones use the new route, connections survive", async () => {
    const a = await h.upstream("a");
    const b = await h.upstream("b");
    for (const u of [a, b]) u.handle((req, res) => setTimeout(() => res.end(u.name), req.url === "/slow" ? 400 : 0));
    const config = (subset: string) =>
      docs(
        serviceEntryYaml("svc.test", 80, [a, b]),
        destinationRuleYaml("svc.test", "loadBalancer: { simple: ROUND_ROBIN }", subsets),
        routeYaml("svc.test", "", `{ host: svc.test, subset: ${subset} }`),
      );
    const proxy = await h.proxy(config("va"));
    const slowAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const otherAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const warm = await get(proxy.port, otherAgent, "/warm");
    expect(warm.body).toBe("a");

    const inFlight = get(proxy.port, slowAgent, "/slow");
    await eventually("the slow request reached the upstream", () => a.requests.some((r) => r.url === "/slow"));
    proxy.apply(config("vb"));

    const after = await get(proxy.port, otherAgent, "/after");
    expect(after.body).toBe("b");
    expect(after.reused).toBe(true);
    expect(after.localPort).toBe(warm.localPort);

    const slow = await inFlight;
    expect([slow.status, slow.body]).toEqual([200, "a"]);
    const next = await get(proxy.port, slowAgent, "/next");
    expect(next.body).toBe("b");
    expect(next.reused).toBe(true);
    expect(next.localPort).toBe(slow.localPort);

    slowAgent.destroy();
    otherAgent.destroy();
    expect(proxy.finished.map((f) => [f.head.path, f.record.responseCode, f.record.responseFlags])).toEqual([
      ["/warm", 200, ""],
      ["/after", 200, ""],
      ["/slow", 200, ""],
      ["/next", 200, ""],
    ]);
  });

  it("a push that removes the route answers 404 NR for new requests while the in-flight one completes", async () => {
    const a = await h.upstream("a");
    a.handle((req, res) => setTimeout(() => res.end("a"), req.url === "/slow" ? 300 : 0));
    const withRoute = docs(
      serviceEntryYaml("svc.test", 80, [a]),
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - match: [{ uri: { prefix: /slow } }]
      route: [{ destination: { host: svc.test } }]
    - match: [{ uri: { prefix: /x } }]
      route: [{ destination: { host: svc.test } }]
`,
    );
    const withoutX = withRoute.replace("    - match: [{ uri: { prefix: /x } }]\n      route: [{ destination: { host: svc.test } }]\n", "");
    const proxy = await h.proxy(withRoute);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const inFlight = get(proxy.port, agent, "/slow");
    await eventually("the slow request reached the upstream", () => a.requests.length === 1);
    proxy.apply(withoutX);
    const other = new Agent({ keepAlive: true });
    expect((await get(proxy.port, other, "/x")).status).toBe(404);
    expect((await inFlight).status).toBe(200);
    agent.destroy();
    other.destroy();
  });

  it("a push that changes the DestinationRule keeps warm upstream connections of unchanged clusters", async () => {
    const a = await h.upstream("a");
    const ports: number[] = [];
    a.handle((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      res.end("a");
    });
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(proxy.port, agent, "/1");
    proxy.apply(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "timeout: 5s")));
    await get(proxy.port, agent, "/2");
    agent.destroy();
    expect(ports).toHaveLength(2);
    expect(ports[1]).toBe(ports[0]);
  });
});
