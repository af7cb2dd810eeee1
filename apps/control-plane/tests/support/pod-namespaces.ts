// Two network namespaces joined by a veth pair, standing for an injected pod and another service,
// for the capture tests that apply the injector's iptables rules for real; with `ipv6: true` the
// pair also carries IPv6 addresses (fd00::/64, a unique-local range), for the ip6tables rules.
// Needs root, iproute2 and iptables (CI has them); `requireRootAndTools` fails saying so otherwise.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";

/** Runs a command to completion and returns its stdout; throws with its stderr when it fails. */
export function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}): ${result.stderr}`);
  return result.stdout;
}

/**
 * Throws, naming what to do, unless this runs as root with `ip`, `iptables` and `iptables-restore`
 * (and, with `ipv6`, `ip6tables` and `ip6tables-restore`, which Debian's iptables package ships too).
 */
export function requireRootAndTools(test: string, options: { readonly ipv6?: boolean } = {}): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${test} must run as root (it creates network namespaces and installs iptables rules); run npm test as root, as CI does`);
  }
  const ipv6Tools = options.ipv6 === true ? ([["ip6tables-restore", "iptables"], ["ip6tables", "iptables"]] as const) : [];
  for (const [tool, pkg] of [["ip", "iproute2"], ["iptables-restore", "iptables"], ["iptables", "iptables"], ...ipv6Tools] as const) {
    const probe = spawnSync(tool, ["-V"], { encoding: "utf8" });
    if (probe.error) throw new Error(`${tool} is missing: install it (apt-get install -y ${pkg})`);
  }
}

export interface PodNamespaces {
  readonly podNs: string;
  readonly svcNs: string;
  readonly podIp: string;
  readonly svcIp: string;
  /** The pod's and the service's IPv6 addresses (fd00:…::1 and ::2 on a /64); with `ipv6: true` only, else undefined. */
  readonly podIp6: string | undefined;
  readonly svcIp6: string | undefined;
  /** A node process running `script` inside `ns`; resolves once it printed `ready`. */
  startIn(ns: string, script: string): Promise<ChildProcess>;
  /** Kills what startIn started and deletes both namespaces. */
  remove(): void;
}

/**
 * Names and addresses for a pair of namespaces (`tag` keeps two tests' names and /24s apart, so
 * they can run at once; with `ipv6` their /64s too); `create` makes them. Nothing exists until then.
 */
export function podNamespaces(tag: { readonly prefix: string; readonly secondOctet: number; readonly ipv6?: boolean }): PodNamespaces & { create(): void } {
  const suffix = `${process.pid % 100000}`;
  const octet = 16 + (process.pid % 200);
  const podNs = `${tag.prefix}pod-${suffix}`;
  const svcNs = `${tag.prefix}svc-${suffix}`;
  const podIp = `10.${tag.secondOctet}.${octet}.1`;
  const svcIp = `10.${tag.secondOctet}.${octet}.2`;
  const net6 = `fd00:${tag.secondOctet.toString(16)}:${octet.toString(16)}::`;
  const podIp6 = tag.ipv6 === true ? `${net6}1` : undefined;
  const svcIp6 = tag.ipv6 === true ? `${net6}2` : undefined;
  const podDev = `${tag.prefix}p${suffix}`;
  const svcDev = `${tag.prefix}s${suffix}`;
  const children: ChildProcess[] = [];
  return {
    podNs,
    svcNs,
    podIp,
    svcIp,
    podIp6,
    svcIp6,
    create: () => {
      run("ip", ["netns", "add", podNs]);
      run("ip", ["netns", "add", svcNs]);
      run("ip", ["link", "add", podDev, "netns", podNs, "type", "veth", "peer", "name", svcDev, "netns", svcNs]);
      for (const [ns, dev, ip, ip6] of [[podNs, podDev, podIp, podIp6], [svcNs, svcDev, svcIp, svcIp6]] as const) {
        run("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", dev]);
        // nodad: usable at once, instead of "tentative" (unbindable) for the second duplicate address detection takes.
        if (ip6 !== undefined) run("ip", ["-n", ns, "-6", "addr", "add", `${ip6}/64`, "dev", dev, "nodad"]);
        run("ip", ["-n", ns, "link", "set", dev, "up"]);
        run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      }
    },
    startIn: async (ns, script) => {
      const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let output = "";
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("ready")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`a process in ${ns} exited (${code}) before it was ready: ${output}`)));
      });
      return child;
    },
    remove: () => {
      for (const child of children) child.kill("SIGKILL");
      for (const ns of [podNs, svcNs]) spawnSync("ip", ["netns", "del", ns]);
    },
  };
}

/** Connects from inside `ns` (as `uid`, or root) to host:port, sends a request head, returns what came back (or "timeout", "error CODE"). */
export function connectFrom(ns: string, host: string, port: number, uid?: number): string {
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

/** Sends one UDP datagram from inside `ns` (as `uid`, or root) to host:port (IPv4 or IPv6), returns the reply (or "timeout"). */
export function udpFrom(ns: string, host: string, port: number, uid?: number): string {
  const script = `
    ${uid === undefined ? "" : `process.setgid(${uid}); process.setuid(${uid});`}
    const socket = require("node:dgram").createSocket(require("node:net").isIPv6(${JSON.stringify(host)}) ? "udp6" : "udp4");
    socket.on("message", (reply) => { process.stdout.write(String(reply)); process.exit(0); });
    setTimeout(() => { process.stdout.write("timeout"); process.exit(0); }, 5000);
    socket.send("query", ${port}, ${JSON.stringify(host)});`;
  return run("ip", ["netns", "exec", ns, process.execPath, "-e", script]);
}
