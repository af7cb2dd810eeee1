// IPv6 transparent capture for real: a dual-stack pod (proxyMetadata ISTIO_DUAL_STACK) is injected
// by planInjection, and its init container's own command runs in a network namespace standing for
// the pod, with the injected rules: iptables-restore, then ip6tables-restore. Stand-in listeners
// bound where the injected sidecar binds (MESHWORK_SIDECAR_BIND `::`, MESHWORK_DNS_BIND 127.0.0.1,::1) then get
// the app's IPv6 connection to another namespace's IPv6 address (outbound, 15001), IPv6
// connections from outside (inbound: a container port on its own listener from 15100, another port
// on 15006), the app's IPv6 DNS queries (15053); the sidecar's UID, ::1 and an excluded IPv4 range
// go through, the `::` listeners still take the IPv4 captures, and the DNS port is not open on the pod's addresses. Needs root, iproute2 and
// iptables (with ip6tables; CI has them); fails saying so otherwise.
// What this does not prove: kubelet/CNI behaviour, the real sidecar on `::`, or the nft-vs-legacy backend of a node.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFrom, podNamespaces, requireRootAndTools, run, udpFrom } from "../../tests/support/pod-namespaces.ts";
import { defaultInjectionTemplate } from "./injection-template.ts";
import { planInjection } from "./plan-injection.ts";

const namespaces = podNamespaces({ prefix: "mw6-", secondOctet: 252, ipv6: true });
const { podNs, svcNs, podIp, svcIp, startIn } = namespaces;
const podIp6 = namespaces.podIp6 ?? "";
const svcIp6 = namespaces.svcIp6 ?? "";
const proxyUid = defaultInjectionTemplate.proxyUid;

const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "dual-1",
    annotations: {
      "proxy.istio.io/config": 'proxyMetadata: { ISTIO_DUAL_STACK: "true", ISTIO_META_DNS_CAPTURE: "true" }',
      // The other service's IPv4 address is excluded: the IPv4 rules skip it, the IPv6 ones know nothing of it.
      "traffic.sidecar.meshwork.io/excludeOutboundIPRanges": `${svcIp}/32`,
    },
  },
  spec: { containers: [{ name: "app", image: "dual:1", ports: [{ name: "http", containerPort: 9080 }, { name: "tcp-db", containerPort: 9443 }] }] },
};

type Container = { readonly name?: string; readonly command?: readonly string[]; readonly env?: readonly { readonly name: string; readonly value?: string }[] };

/** The injected init container (command and environment) and the sidecar container's literal environment. */
function injected(): { command: readonly string[]; initEnv: Record<string, string>; env: Record<string, string> } {
  const plan = planInjection(pod, defaultInjectionTemplate);
  if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
  const containers: Container[] = plan.patch.flatMap((op) => (Array.isArray(op.value) ? (op.value as Container[]) : [op.value as Container]));
  const literal = (container: Container | undefined): Record<string, string> => Object.fromEntries((container?.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
  const init = containers.find((c) => c.name === "meshwork-init");
  return { command: init?.command ?? [], initEnv: literal(init), env: literal(containers.find((c) => c.name === "meshwork-proxy")) };
}

// Answers every connection (or datagram, with `udp`) with its name and the first line it received.
const listener = (ports: Record<string, number>, host: string, udp = false) => `
  const ports = ${JSON.stringify(ports)};
  const host = ${JSON.stringify(host)};
  let pending = Object.keys(ports).length;
  const ready = () => { if (--pending === 0) process.stdout.write("ready\\n"); };
  for (const [name, port] of Object.entries(ports)) {
    if (${udp}) {
      const socket = require("node:dgram").createSocket(require("node:net").isIPv6(host) ? "udp6" : "udp4");
      socket.on("message", (message, remote) => socket.send(name + ": " + String(message), remote.port, remote.address));
      socket.bind(port, host, ready);
    } else {
      require("node:net").createServer((socket) => socket.once("data", (chunk) => socket.end(name + ": " + String(chunk).split("\\r\\n")[0]))).listen(port, host, ready);
    }
  }`;

describe("IPv6 transparent capture with the injector's ip6tables rules (root, network namespaces)", () => {
  const { command, initEnv, env } = injected();

  beforeAll(async () => {
    requireRootAndTools("the IPv6 transparent-capture test", { ipv6: true });
    namespaces.create();
    // The init container's command, with its environment, as the kubelet would run it.
    run("ip", ["netns", "exec", podNs, "env", ...Object.entries(initEnv).map(([name, value]) => `${name}=${value}`), ...command]);
    const bind = env["MESHWORK_SIDECAR_BIND"] ?? "";
    const dnsBind = (env["MESHWORK_DNS_BIND"] ?? "").split(",");
    await startIn(podNs, listener({ "sidecar outbound": 15001, "sidecar inbound": 15006, "sidecar stats": 15020, "listener 9080": 15100, "listener 9443": 15101 }, bind));
    await startIn(podNs, listener({ "pod app": 9080 }, "::1"));
    // The DNS proxy's port on each of its addresses, as serveDnsSockets binds them.
    for (const host of dnsBind) {
      await startIn(podNs, listener({ "sidecar dns tcp": 15053 }, host));
      await startIn(podNs, listener({ "sidecar dns udp": 15053 }, host, true));
    }
    await startIn(svcNs, listener({ "ratings direct": 9080, "resolver tcp": 53 }, "::"));
    await startIn(svcNs, listener({ "resolver udp": 53 }, "::", true));
  }, 30_000);

  afterAll(() => {
    namespaces.remove();
  });

  it("the injector runs ip6tables-restore after iptables-restore, binds the sidecar to :: and its DNS proxy to both loopbacks", () => {
    expect(command.join(" ")).toMatch(/iptables-restore --noflush && .*ip6tables-restore --noflush/);
    expect(env["MESHWORK_SIDECAR_BIND"]).toBe("::");
    expect(env["MESHWORK_DNS_BIND"]).toBe("127.0.0.1,::1");
    const nat6 = run("ip", ["netns", "exec", podNs, "ip6tables", "-t", "nat", "-S"]);
    expect(nat6).toContain("-A MESHWORK_OUTPUT -d ::1/128 -j RETURN");
    expect(nat6).toContain("-A MESHWORK_INBOUND -p tcp -m tcp --dport 9443 -j REDIRECT --to-ports 15101");
    expect(nat6).not.toContain(svcIp);
    expect(run("ip", ["netns", "exec", podNs, "iptables", "-t", "nat", "-S"])).toContain(`-A MESHWORK_OUTPUT -d ${svcIp}/32 -j RETURN`);
  });

  it("captures an app's IPv6 connection to another service's IPv6 address on the sidecar's outbound port", () => {
    expect(connectFrom(podNs, svcIp6, 9080)).toBe("sidecar outbound: GET /reviews/0 HTTP/1.1");
  });

  it("lets the sidecar's own IPv6 connections (its UID) and the app's to ::1 through", () => {
    expect(connectFrom(podNs, svcIp6, 9080, proxyUid)).toBe("ratings direct: GET /reviews/0 HTTP/1.1");
    expect(connectFrom(podNs, "::1", 9080)).toBe("pod app: GET /reviews/0 HTTP/1.1");
  });

  it("captures IPv6 connections into the pod: container ports on their own listeners, another port on 15006, the stats port not at all", () => {
    expect(connectFrom(svcNs, podIp6, 9080)).toBe("listener 9080: GET /reviews/0 HTTP/1.1");
    expect(connectFrom(svcNs, podIp6, 9443)).toBe("listener 9443: GET /reviews/0 HTTP/1.1");
    expect(connectFrom(svcNs, podIp6, 7070)).toBe("sidecar inbound: GET /reviews/0 HTTP/1.1");
    expect(connectFrom(svcNs, podIp6, 15020)).toBe("sidecar stats: GET /reviews/0 HTTP/1.1");
  });

  it("captures the app's IPv6 DNS queries, over UDP and TCP, on the DNS proxy, but not the sidecar's own", () => {
    expect(udpFrom(podNs, svcIp6, 53)).toBe("sidecar dns udp: query");
    expect(connectFrom(podNs, svcIp6, 53)).toBe("sidecar dns tcp: GET /reviews/0 HTTP/1.1");
    expect(udpFrom(podNs, svcIp6, 53, proxyUid)).toBe("resolver udp: query");
  });

  it("does not open the DNS proxy's port on the pod's own addresses (loopback only, as Istio's agent)", () => {
    expect(connectFrom(podNs, podIp6, 15053, proxyUid)).toBe("error ECONNREFUSED");
    expect(connectFrom(podNs, podIp, 15053, proxyUid)).toBe("error ECONNREFUSED");
  });

  it("keeps IPv4 capture on the same `::` listeners, with the IPv4 range excluded there only", () => {
    expect(connectFrom(svcNs, podIp, 9443)).toBe("listener 9443: GET /reviews/0 HTTP/1.1");
    expect(udpFrom(podNs, svcIp, 53)).toBe("sidecar dns udp: query");
    expect(connectFrom(podNs, svcIp, 9080)).toBe("ratings direct: GET /reviews/0 HTTP/1.1");
  });

  it("captures no IPv6 without the ip6tables rules (the test can fail)", () => {
    run("ip", ["netns", "exec", podNs, "ip6tables", "-t", "nat", "-F", "OUTPUT"]);
    run("ip", ["netns", "exec", podNs, "ip6tables", "-t", "nat", "-F", "PREROUTING"]);
    expect(connectFrom(podNs, svcIp6, 9080)).toBe("ratings direct: GET /reviews/0 HTTP/1.1");
    expect(connectFrom(svcNs, podIp6, 9443)).toMatch(/^error ECONNREFUSED$/);
  });
});
