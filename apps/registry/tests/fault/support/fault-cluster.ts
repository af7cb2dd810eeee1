// A real registry cluster for fault tests: each node is a child process (src/main.ts through tsx)
// on its own loopback address, and every Raft connection to a node goes through that node's
// FaultRelay. `--peers` and `--advertise` name the relays' addresses, so even the addresses nodes
// learn from each other's messages point at relays. Controls: kill -9 and restart from the same
// data dir, SIGSTOP/SIGCONT, partition/heal/delay between nodes, restart of all.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FaultRelay, type LinkFaults } from "./fault-relay.ts";
import { socketOwner } from "./socket-owner.ts";

const projectRoot = join(import.meta.dirname, "..", "..", "..");
let clusterCounter = 0;

export interface FaultClusterOptions {
  /** Number of nodes (default 3). */
  readonly size?: number;
  /** --tick-ms of every node (default 25). */
  readonly tickMs?: number;
  /** Parent of the nodes' data dirs (default: a new temporary directory, removed by close()). */
  readonly dataRoot?: string;
  /** Extra flags for every node. */
  readonly extraArgs?: readonly string[];
  /** Data dir of a node (default `<dataRoot>/<id>`). */
  readonly dataDirOf?: (id: string) => string;
}

/** One node of the cluster and its current process. */
export interface FaultNode {
  readonly id: string;
  /** Where the node binds its Raft and HTTP listeners. */
  readonly bindHost: string;
  /** Where its relay listens (the node advertises this host). */
  readonly relayHost: string;
  readonly raftPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  process: ChildProcess | null;
  /** Pending exit of the current process: its code (null when killed by a signal). */
  exit: Promise<number | null>;
  /** Everything the node wrote to stdout and stderr, across restarts (last 256 KiB). */
  output: string;
  paused: boolean;
}

async function freePortOn(hosts: readonly string[]): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, hosts[0], () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
      });
    });
    const others = await Promise.all(
      hosts.slice(1).map(
        (host) =>
          new Promise<boolean>((resolve) => {
            const server = net.createServer();
            server.once("error", () => resolve(false));
            server.listen(port, host, () => server.close(() => resolve(true)));
          }),
      ),
    );
    if (others.every(Boolean)) return port;
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FaultCluster implements LinkFaults {
  readonly nodes: readonly FaultNode[];
  private readonly relays = new Map<string, FaultRelay>();
  private readonly cuts = new Set<string>();
  private readonly delays = new Map<string, number>();
  private readonly options: FaultClusterOptions;
  private readonly ownsDataRoot: boolean;
  private readonly dataRoot: string;

  private constructor(nodes: FaultNode[], options: FaultClusterOptions, dataRoot: string, ownsDataRoot: boolean) {
    this.nodes = nodes;
    this.options = options;
    this.dataRoot = dataRoot;
    this.ownsDataRoot = ownsDataRoot;
  }

  /** Starts the relays and the nodes and waits until every node logged "ready" (not for a leader). */
  static async start(options: FaultClusterOptions = {}): Promise<FaultCluster> {
    const size = options.size ?? 3;
    const dataRoot = options.dataRoot ?? (await mkdtemp(join(tmpdir(), "meshwork-fault-")));
    // A loopback /24 of its own per cluster, so parallel test files never share an address.
    const net2 = 64 + (process.pid % 128);
    const net3 = (Math.floor(process.pid / 128) + clusterCounter++) % 256;
    const nodes: FaultNode[] = [];
    for (let k = 0; k < size; k++) {
      const id = `n${k + 1}`;
      const bindHost = `127.${net2}.${net3}.${10 + k}`;
      const relayHost = `127.${net2}.${net3}.${20 + k}`;
      const raftPort = await freePortOn([bindHost, relayHost]);
      const httpPort = await freePortOn([bindHost, relayHost]);
      const dataDir = options.dataDirOf?.(id) ?? join(dataRoot, id);
      nodes.push({ id, bindHost, relayHost, raftPort, httpPort, dataDir, process: null, exit: Promise.resolve(null), output: "", paused: false });
    }
    const cluster = new FaultCluster(nodes, options, dataRoot, options.dataRoot === undefined);
    for (const node of nodes) {
      const relay = new FaultRelay({ nodeId: node.id, listenHost: node.relayHost, listenPort: node.raftPort, targetHost: node.bindHost, targetPort: node.raftPort, faults: cluster });
      await relay.start();
      cluster.relays.set(node.id, relay);
    }
    await Promise.all(nodes.map((node) => cluster.restart(node.id)));
    return cluster;
  }

  node(id: string): FaultNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id} in the cluster (${this.nodes.map((n) => n.id).join(", ")})`);
    return node;
  }

  get ids(): string[] {
    return this.nodes.map((n) => n.id);
  }

  /** The base URL of a node's HTTP API (direct, not through a relay). */
  url(id: string): string {
    const node = this.node(id);
    return `http://${node.bindHost}:${node.httpPort}`;
  }

  /** The `--peers` value every node gets: the relays' addresses. */
  peersFlag(): string {
    return this.nodes.map((n) => `${n.id}=${n.relayHost}:${n.raftPort}`).join(",");
  }

  argsOf(id: string): string[] {
    const node = this.node(id);
    return [
      "--node-id", node.id,
      "--peers", this.peersFlag(),
      "--data-dir", node.dataDir,
      "--bind", node.bindHost,
      "--advertise", node.relayHost,
      "--raft-port", String(node.raftPort),
      "--http-port", String(node.httpPort),
      "--tick-ms", String(this.options.tickMs ?? 25),
      ...(this.options.extraArgs ?? []),
    ];
  }

  /** Starts the node's process from its data dir (after a kill or an exit); resolves once "ready" or rejects when it exits first. */
  async restart(id: string, timeoutMs = 30_000): Promise<void> {
    const outcome = await this.launch(id, timeoutMs);
    if (outcome !== "ready") throw new Error(`${id} did not become ready (${typeof outcome === "number" ? `exited with ${outcome}` : outcome}); output:\n${this.tail(id)}`);
  }

  /** Starts the node's process: "ready", its exit code if it exited first, or "timeout". */
  async launch(id: string, timeoutMs = 30_000): Promise<"ready" | "timeout" | number | null> {
    const node = this.node(id);
    if (this.isRunning(id)) throw new Error(`${id} is still running (pid ${node.process?.pid})`);
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", "src/main.ts", ...this.argsOf(id)], { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
    node.process = child;
    node.paused = false;
    const marker = `--- start pid ${child.pid} ---`;
    node.output += `${marker}\n`;
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const append = (chunk: Buffer) => {
      node.output = (node.output + chunk.toString()).slice(-256 * 1024);
      if (node.output.lastIndexOf('"msg":"ready"') > node.output.lastIndexOf(marker)) onReady();
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    node.exit = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([ready.then(() => "ready" as const), node.exit, new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)))]);
    clearTimeout(timer);
    return outcome;
  }

  /** The JSON log lines of a node's current (or last) process. */
  logLines(id: string): Record<string, unknown>[] {
    const output = this.node(id).output;
    // The marker is gone when the output outgrew the 256 KiB kept: then all of it is the last run's.
    const last = Math.max(0, output.lastIndexOf("--- start pid "));
    return output
      .slice(last)
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  /** The last lines of a node's output, for failure messages. */
  tail(id: string, lines = 30): string {
    return this.node(id).output.split("\n").slice(-lines).join("\n");
  }

  isRunning(id: string): boolean {
    const child = this.node(id).process;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  /** kill -9 and wait for the exit. */
  async kill9(id: string): Promise<void> {
    const node = this.node(id);
    if (!this.isRunning(id)) return;
    node.process?.kill("SIGKILL");
    await node.exit;
    node.paused = false;
  }

  /** SIGTERM (graceful leave) and wait for the exit code. */
  async terminate(id: string): Promise<number | null> {
    const node = this.node(id);
    if (this.isRunning(id)) {
      if (node.paused) this.resume(id);
      node.process?.kill("SIGTERM");
    }
    return node.exit;
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  pause(id: string): void {
    const node = this.node(id);
    node.process?.kill("SIGSTOP");
    node.paused = true;
  }

  /** SIGCONT. */
  resume(id: string): void {
    const node = this.node(id);
    node.process?.kill("SIGCONT");
    node.paused = false;
  }

  /** kill -9 every node, then start them all again from their data dirs. */
  async restartAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill9(id)));
    await Promise.all(this.ids.map((id) => this.restart(id)));
  }

  /** Cuts the links between a and b in both directions: new connections refused, open ones cut. */
  partition(a: string, b: string): void {
    this.cuts.add([a, b].sort().join("|"));
    for (const relay of this.relays.values()) relay.enforce();
  }

  /** Cuts `id` off from every other node. */
  isolate(id: string): void {
    for (const other of this.ids) if (other !== id) this.partition(id, other);
  }

  /** Removes every cut and delay. */
  heal(): void {
    this.cuts.clear();
    this.delays.clear();
  }

  /** Delays every chunk between a and b (both directions) by `ms`. */
  setDelay(a: string, b: string, ms: number): void {
    this.delays.set([a, b].sort().join("|"), ms);
  }

  // ---- LinkFaults (the relays ask) --------------------------------------------------------------

  identify(socket: net.Socket): string | undefined {
    const remoteIp = (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const localIp = (socket.localAddress ?? "").replace(/^::ffff:/, "");
    const pids = this.nodes.map((n) => n.process?.pid).filter((pid): pid is number => pid !== undefined);
    const owner = socketOwner(pids, remoteIp, socket.remotePort ?? 0, localIp, socket.localPort ?? 0);
    return this.nodes.find((n) => n.process?.pid === owner)?.id;
  }

  isCut(from: string | undefined, to: string): boolean {
    // An unknown dialler is cut whenever the node behind the relay is cut from anyone.
    if (from === undefined) return [...this.cuts].some((cut) => cut.split("|").includes(to));
    return this.cuts.has([from, to].sort().join("|"));
  }

  delayMs(from: string | undefined, to: string): number {
    if (from === undefined) return 0;
    return this.delays.get([from, to].sort().join("|")) ?? 0;
  }

  // ---- observation ------------------------------------------------------------------------------

  /** Per relay (node id): connections accepted, refused and cut, and how many came from an unidentified dialler. */
  relayStats(): Record<string, { accepted: number; refused: number; cut: number; unidentified: number }> {
    return Object.fromEntries([...this.relays].map(([id, relay]) => [id, { ...relay.stats }]));
  }

  /** The leader's id as `id` sees it (from /v1/status/leader), or undefined. */
  async leaderSeenBy(id: string): Promise<string | undefined> {
    try {
      const response = await fetch(`${this.url(id)}/v1/status/leader`, { signal: AbortSignal.timeout(1000) });
      const address = (await response.json()) as string;
      if (address === "") return undefined;
      return this.nodes.find((n) => address.endsWith(`:${n.httpPort}`))?.id;
    } catch {
      return undefined;
    }
  }

  /** Waits until the running, unpaused nodes among `among` agree on a leader (also among them). */
  async waitForLeader(among: readonly string[] = this.ids, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = among.filter((id) => this.isRunning(id) && !this.node(id).paused);
      const seen = await Promise.all(live.map((id) => this.leaderSeenBy(id)));
      const first = seen[0];
      if (first !== undefined && among.includes(first) && seen.every((s) => s === first)) return first;
      if (Date.now() > deadline) throw new Error(`no agreed leader among ${among.join(", ")} within ${timeoutMs} ms (seen: ${seen.join(", ")})`);
      await delay(100);
    }
  }

  /** Kills every process, closes the relays and removes the data (when the cluster created it). */
  async close(): Promise<void> {
    for (const node of this.nodes) {
      if (this.isRunning(node.id)) {
        node.process?.kill("SIGKILL");
        await node.exit;
      }
    }
    await Promise.all([...this.relays.values()].map((relay) => relay.close()));
    if (this.ownsDataRoot) await rm(this.dataRoot, { recursive: true, force: true });
  }
}
