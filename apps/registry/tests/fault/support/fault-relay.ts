// A fault-injecting TCP relay in front of one registry node's Raft port: it accepts peers'
// connections, dials the node, and pipes bytes both ways, so every Raft message to that node
// crosses it. It asks `LinkFaults` whether the link from the dialling node is cut (then it refuses
// new connections and cuts the open ones) or delayed (then each chunk waits that long, in order).
import * as net from "node:net";

/** The fault state the relays of one cluster share. */
export interface LinkFaults {
  /** Which node dialled this accepted connection (undefined when it cannot tell). */
  identify(socket: net.Socket): string | undefined;
  /** Whether traffic between `from` (undefined: unknown dialler) and `to` is cut now. */
  isCut(from: string | undefined, to: string): boolean;
  /** Extra latency (ms) for each chunk between `from` and `to`, both directions. */
  delayMs(from: string | undefined, to: string): number;
}

export interface FaultRelayOptions {
  /** The node behind this relay. */
  readonly nodeId: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly faults: LinkFaults;
}

interface Link {
  readonly from: string | undefined;
  readonly downstream: net.Socket;
  readonly upstream: net.Socket;
}

/** Counts for reports and assertions. */
export interface RelayStats {
  accepted: number;
  refused: number;
  cut: number;
  /** Connections whose dialler could not be identified. */
  unidentified: number;
}

export class FaultRelay {
  private readonly options: FaultRelayOptions;
  private readonly links = new Set<Link>();
  private server: net.Server | null = null;
  readonly stats: RelayStats = { accepted: 0, refused: 0, cut: 0, unidentified: 0 };

  constructor(options: FaultRelayOptions) {
    this.options = options;
  }

  get address(): string {
    return `${this.options.listenHost}:${this.options.listenPort}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listenPort, this.options.listenHost, () => resolve());
    });
    this.server = server;
  }

  /** Cuts every open connection whose link is now cut (call after the faults changed). */
  enforce(): void {
    for (const link of this.links) {
      if (this.options.faults.isCut(link.from, this.options.nodeId)) {
        this.stats.cut++;
        this.drop(link);
      }
    }
  }

  /** Cuts every open connection (as a crash of the network would). */
  cutAll(): void {
    for (const link of this.links) this.drop(link);
  }

  async close(): Promise<void> {
    this.cutAll();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private drop(link: Link): void {
    this.links.delete(link);
    link.downstream.destroy();
    link.upstream.destroy();
  }

  private accept(downstream: net.Socket): void {
    downstream.on("error", () => undefined);
    const { faults, nodeId } = this.options;
    const from = faults.identify(downstream);
    if (from === undefined) this.stats.unidentified++;
    if (faults.isCut(from, nodeId)) {
      this.stats.refused++;
      downstream.destroy();
      return;
    }
    this.stats.accepted++;
    downstream.pause();
    const upstream = net.connect(this.options.targetPort, this.options.targetHost);
    upstream.on("error", () => undefined);
    const link: Link = { from, downstream, upstream };
    this.links.add(link);
    const close = () => {
      if (this.links.has(link)) this.drop(link);
    };
    downstream.once("close", close);
    upstream.once("close", close);
    upstream.once("connect", () => {
      this.pipe(link, downstream, upstream);
      this.pipe(link, upstream, downstream);
      downstream.resume();
    });
  }

  /** Copies `source` to `sink`, each chunk delayed by the link's current delay, order kept. */
  private pipe(link: Link, source: net.Socket, sink: net.Socket): void {
    const queue: { readonly due: number; readonly chunk: Buffer }[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      timer = null;
      const now = Date.now();
      while (queue.length > 0 && (queue[0] as { due: number }).due <= now) {
        const next = queue.shift() as { chunk: Buffer };
        if (!sink.destroyed) sink.write(next.chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, (queue[0] as { due: number }).due - now);
    };
    source.on("data", (chunk: Buffer) => {
      const delay = this.options.faults.delayMs(link.from, this.options.nodeId);
      if (delay <= 0 && queue.length === 0) {
        sink.write(chunk);
        return;
      }
      const last = queue[queue.length - 1];
      queue.push({ due: Math.max(Date.now() + delay, last?.due ?? 0), chunk });
      timer ??= setTimeout(flush, Math.max(0, (queue[0] as { due: number }).due - Date.now()));
    });
    source.once("close", () => {
      if (timer !== null) clearTimeout(timer);
    });
  }
}
