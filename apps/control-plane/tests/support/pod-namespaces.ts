// Two network namespaces joined by a veth pair, standing for an injected pod and another service,
// for the capture tests that apply the injector's iptables rules for real. Needs root, iproute2
// and iptables (CI has them); `requireRootAndTools` fails saying so otherwise.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";

/** Runs a command to completion and returns its stdout; throws with its stderr when it fails. */
export function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Throws, naming what to do, unless this runs as root with `ip`, `iptables` and `iptables-restore`. */
export function requireRootAndTools(test: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${test} must run as root (it creates network namespaces and installs iptables rules); run npm test as root, as CI does`);
  }
  for (const [tool, pkg] of [["ip", "iproute2"], ["iptables-restore", "iptables"], ["iptables", "iptables"]] as const) {
    const probe = spawnSync(tool, ["-V"], { encoding: "utf8" });
    if (probe.error) throw new Error(`${tool} is missing: install it (apt-get install -y ${pkg})`);
  }
}

export interface PodNamespaces {
  readonly podNs: string;
  readonly svcNs: string;
  readonly podIp: string;
  readonly svcIp: string;
  /** A node process running `script` inside `ns`; resolves once it printed `ready`. */
  startIn(ns: string, script: string): Promise<ChildProcess>;
  /** Kills what startIn started and deletes both namespaces. */
  remove(): void;
}

/**
 * Names and addresses for a pair of namespaces (`tag` keeps two tests' names and /24s apart, so
 * they can run at once); `create` makes them. Nothing exists until then.
 */
export function podNamespaces(tag: { readonly prefix: string; readonly secondOctet: number }): PodNamespaces & { create(): void } {
  const suffix = `${process.pid % 100000}`;
  const octet = 16 + (process.pid % 200);
  const podNs = `${tag.prefix}pod-${suffix}`;
  const svcNs = `${tag.prefix}svc-${suffix}`;
  const podIp = `10.${tag.secondOctet}.${octet}.1`;
  const svcIp = `10.${tag.secondOctet}.${octet}.2`;
  const podDev = `${tag.prefix}p${suffix}`;
  const svcDev = `${tag.prefix}s${suffix}`;
  const children: ChildProcess[] = [];
  return {
    podNs,
    svcNs,
    podIp,
    svcIp,
    create: () => {
      run("ip", ["netns", "add", podNs]);
      run("ip", ["netns", "add", svcNs]);
      run("ip", ["link", "add", podDev, "netns", podNs, "type", "veth", "peer", "name", svcDev, "netns", svcNs]);
      for (const [ns, dev, ip] of [[podNs, podDev, podIp], [svcNs, svcDev, svcIp]] as const) {
        run("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", dev]);
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
