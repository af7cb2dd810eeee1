// Transparent capture for real (DESIGN.md §3.5): two network namespaces joined by a veth pair
// stand for an injected pod and another service. The rules from buildCaptureRules are applied
// with the real iptables-restore in the pod's namespace; then an app's plain connection to the
// other service's address lands on the sidecar's outbound listener (15001), a connection from
// outside lands on the inbound listener (15006), the app's DNS queries (UDP and TCP port 53) land
// on the DNS proxy (15053, DNS capture on), and the sidecar's own UID and ports go through
// untouched. Needs root, iproute2 and iptables (CI has them); fails saying so otherwise.
// What this does not prove: kubelet/CNI behaviour, IPv6, or the nft-vs-legacy backend of a node.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCaptureRules } from "./capture-rules.ts";

const suffix = `${process.pid % 100000}`;
const podNs = `mw-pod-${suffix}`;
const svcNs = `mw-svc-${suffix}`;
// A private /30-ish range unlikely to clash; the namespaces have no other interfaces.
const octet = 16 + (process.pid % 200);
const podIp = `10.254.${octet}.1`;
const svcIp = `10.254.${octet}.2`;
const proxyUid = 1337;
const children: ChildProcess[] = [];

function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}): ${result.stderr}`);
  return result.stdout;
}

function requireRootAndTools(): void {
  if (process.getuid?.() !== 0) {
    throw new Error("the transparent-capture test must run as root (it creates network namespaces and installs iptables rules); run npm test as root, as CI does");
  }
  for (const [tool, pkg] of [["ip", "iproute2"], ["iptables-restore", "iptables"], ["iptables", "iptables"]] as const) {
    const probe = spawnSync(tool, ["-V"], { encoding: "utf8" });
    if (probe.error) throw new Error(`${tool} is missing: install it (apt-get install -y ${pkg})`);
  }
}

/** A node process inside `ns`; resolves once it printed `ready`. */
async function startIn(ns: string, script: string): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`listener in ${ns} exited (${code}) before it was ready: ${output}`)));
  });
  return child;
}

/** Connects from inside `ns` (as `uid`, or root) to host:port, sends a request head, returns what came back. */
function connectFrom(ns: string, host: string, port: number, uid?: number): string {
  const script = `
    ${uid === undefined ? "" : `process.setgid(${uid}); process.setuid(${uid});`}
    const socket = require("node:net").connect(${port}, ${JSON.stringify(host)});
    let reply = "";
    socket.setTimeout(5000, () => { process.stdout.write("timeout"); process.exit(0); });
    socket.on("connect", () => socket.write("GET /reviews/0 HTTP/1.1\\r\\nHost: reviews:9080\\r\\n\\r\\n"));
    socket.on("data", (chunk) => (reply += chunk));
    socket.on("end", () => process.stdout.write(reply));
    socket.on("error", (error) => process.stdout.write("error " + error.code));`;
  return run("ip", ["netns", "exec", ns, process.execPath, "-e", script]);
}

/** Sends one UDP datagram from inside `ns` (as `uid`, or root) to host:port, returns the reply. */
function udpFrom(ns: string, host: string, port: number, uid?: number): string {
  const script = `
    ${uid === undefined ? "" : `process.setgid(${uid}); process.setuid(${uid});`}
    const socket = require("node:dgram").createSocket("udp4");
    socket.on("message", (reply) => { process.stdout.write(String(reply)); process.exit(0); });
    setTimeout(() => { process.stdout.write("timeout"); process.exit(0); }, 5000);
    socket.send("query", ${port}, ${JSON.stringify(host)});`;
  return run("ip", ["netns", "exec", ns, process.execPath, "-e", script]);
}

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
    requireRootAndTools();
    run("ip", ["netns", "add", podNs]);
    run("ip", ["netns", "add", svcNs]);
    run("ip", ["link", "add", `mwp${suffix}`, "netns", podNs, "type", "veth", "peer", "name", `mws${suffix}`, "netns", svcNs]);
    for (const [ns, dev, ip] of [[podNs, `mwp${suffix}`, podIp], [svcNs, `mws${suffix}`, svcIp]] as const) {
      run("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", dev]);
      run("ip", ["-n", ns, "link", "set", dev, "up"]);
      run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
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
    for (const child of children) child.kill("SIGKILL");
    for (const ns of [podNs, svcNs]) spawnSync("ip", ["netns", "del", ns]);
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
