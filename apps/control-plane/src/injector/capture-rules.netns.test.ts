// Transparent capture for real (DESIGN.md §3.5): two network namespaces joined by a veth pair
// stand for an injected pod and another service. The rules from buildCaptureRules are applied
// with the real iptables-restore in the pod's namespace; then an app's plain connection to the
// other service's address lands on the sidecar's outbound listener (15001), a connection from
// outside lands on the inbound listener (15006), the app's DNS queries (UDP and TCP port 53) land
// on the DNS proxy (15053, DNS capture on), and the sidecar's own UID and ports go through
// untouched. Needs root, iproute2 and iptables (CI has them); fails saying so otherwise.
// What this does not prove: kubelet/CNI behaviour, IPv6, or the nft-vs-legacy backend of a node.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFrom, podNamespaces, requireRootAndTools, run, udpFrom } from "../../tests/support/pod-namespaces.ts";
import { buildCaptureRules } from "./capture-rules.ts";

const namespaces = podNamespaces({ prefix: "mw-", secondOctet: 254 });
const { podNs, svcNs, podIp, svcIp, startIn } = namespaces;
const proxyUid = 1337;

// Answers every datagram with its name and what it received.
const udpListener = (ports: Record<string, number>, host: string) => `
  const dgram = require("node:dgram");
  const ports = ${JSON.stringify(ports)};
  let pending = Object.keys(ports).length;
  for (const [name, port] of Object.entries(ports)) {
    const socket = dgram.createSocket("udp4");
    socket.on("message", (message, remote) => socket.send(name + ": " + String(message), remote.port, remote.address));
    socket.bind(port, ${JSON.stringify(host)}, () => { if (--pending === 0) process.stdout.write("ready\\n"); });
  }`;

// Answers every connection with its name and the first line it received, then closes.
const listener = (ports: Record<string, number>, host = "0.0.0.0") => `
  const net = require("node:net");
  const ports = ${JSON.stringify(ports)};
  let pending = Object.keys(ports).length;
  for (const [name, port] of Object.entries(ports)) {
    net.createServer((socket) => socket.once("data", (chunk) => socket.end(name + ": " + String(chunk).split("\\r\\n")[0])))
      .listen(port, ${JSON.stringify(host)}, () => { if (--pending === 0) process.stdout.write("ready\\n"); });
  }`;

describe("transparent capture with the generated iptables rules (root, network namespaces)", () => {
  beforeAll(async () => {
    requireRootAndTools("the transparent-capture test");
    namespaces.create();
    run("ip", ["netns", "exec", podNs, "iptables-restore", "--noflush"], buildCaptureRules({ proxyUid, dnsPort: 15053 }));
    // The "sidecar" in the pod: outbound, inbound, stats and DNS listeners (DNS on loopback, as
    // Istio's agent). The other service: its app port, and a resolver on port 53.
    await startIn(podNs, listener({ "sidecar outbound": 15001, "sidecar inbound": 15006, "sidecar stats": 15020, "pod app": 9080 }));
    await startIn(podNs, listener({ "sidecar dns tcp": 15053 }, "127.0.0.1"));
    await startIn(podNs, udpListener({ "sidecar dns udp": 15053 }, "127.0.0.1"));
    await startIn(svcNs, listener({ "reviews direct": 9080, "resolver tcp": 53 }, svcIp));
    await startIn(svcNs, udpListener({ "resolver udp": 53 }, svcIp));
  });

  afterAll(() => {
    namespaces.remove();
  });

  it("installs the rules in the pod's namespace", () => {
    const nat = run("ip", ["netns", "exec", podNs, "iptables", "-t", "nat", "-S"]);
    expect(nat).toContain("-A MESHWORK_REDIRECT -p tcp -j REDIRECT --to-ports 15001");
    expect(nat).toContain("-A MESHWORK_OUTPUT -m owner --uid-owner 1337 -j RETURN");
  });

  it("captures an app's plain connection to another service's address on the sidecar's outbound port", () => {
    expect(connectFrom(podNs, svcIp, 9080)).toBe("sidecar outbound: GET /reviews/0 HTTP/1.1");
  });

  it("lets the sidecar's own connections (its UID) reach the service directly", () => {
    expect(connectFrom(podNs, svcIp, 9080, proxyUid)).toBe("reviews direct: GET /reviews/0 HTTP/1.1");
  });

  it("captures connections into the pod on the sidecar's inbound port", () => {
    expect(connectFrom(svcNs, podIp, 9080)).toBe("sidecar inbound: GET /reviews/0 HTTP/1.1");
  });

  it("does not capture the sidecar's own ports or loopback", () => {
    expect(connectFrom(svcNs, podIp, 15020)).toBe("sidecar stats: GET /reviews/0 HTTP/1.1");
    expect(connectFrom(podNs, "127.0.0.1", 9080)).toBe("pod app: GET /reviews/0 HTTP/1.1");
  });

  it("captures the app's DNS queries, over UDP and TCP, on the sidecar's DNS port", () => {
    expect(udpFrom(podNs, svcIp, 53)).toBe("sidecar dns udp: query");
    expect(connectFrom(podNs, svcIp, 53)).toBe("sidecar dns tcp: GET /reviews/0 HTTP/1.1");
  });

  it("lets the sidecar's own DNS queries (its UID) reach the resolver, and other UDP go through", () => {
    expect(udpFrom(podNs, svcIp, 53, proxyUid)).toBe("resolver udp: query");
    expect(connectFrom(podNs, svcIp, 53, proxyUid)).toBe("resolver tcp: GET /reviews/0 HTTP/1.1");
  });

  it("captures nothing without the rules (the test can fail)", () => {
    run("ip", ["netns", "exec", podNs, "iptables", "-t", "nat", "-F", "OUTPUT"]);
    expect(connectFrom(podNs, svcIp, 9080)).toBe("reviews direct: GET /reviews/0 HTTP/1.1");
    expect(udpFrom(podNs, svcIp, 53)).toBe("resolver udp: query");
  });
});
