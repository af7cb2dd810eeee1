// The outbound listeners a Sidecar resource's egress section asks the sidecar to bind itself
// (captureMode NONE or a `bind`: ProxyConfig.egressListeners), for applications that are not
// captured and dial the listener directly, e.g. 127.0.0.1:9080. They follow the config: a push
// that adds one opens it, one that drops it (or changes its protocol) drains it, as the inbound
// per-port listeners do (inbound-http-listeners.ts). What a listener serves is decided per config
// (`entry.listener` is replaced on every apply), never per request:
//
//   app ─► bind:port (HTTP) ─► routeOutbound through the listener's own gateway (its hosts only; others 404 NR)
//   app ─► bind:port (TCP)  ─► tcp_proxy to the first imported service (tcp/egress-listener-chooser.ts)
import type { EgressListener } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";

/** One open listener: the config's current view of it (replaced per config) and how to stop it. */
export interface ExplicitEgressEntry {
  listener: EgressListener;
}

/** What the sidecar opened for an entry (an HttpListener or a TcpListener). */
export interface Draining {
  drain(deadlineMs: number): Promise<void>;
}

export interface ExplicitEgressListenersOptions<L extends Draining> {
  readonly logger: Logger;
  /** Opens (binds) the listener of `entry` at `entry.listener.bind:port`; rejects when it cannot bind. */
  readonly open: (entry: ExplicitEgressEntry) => Promise<L>;
  /** A listener is listening (the sidecar lists it and drains it with the others). */
  readonly opened: (entry: ExplicitEgressEntry, listener: L) => void;
  /** A listener left the config: it stops accepting and drains (`drained` settles when it is gone). */
  readonly closed: (entry: ExplicitEgressEntry, listener: L, drained: Promise<void>) => void;
  /** How long a closed listener's connections may finish. */
  readonly drainMs: number;
  /** True once the sidecar drains: no listener opens any more. */
  readonly isDraining: () => boolean;
}

interface Open<L> {
  readonly entry: ExplicitEgressEntry;
  readonly listener: L;
}

/** An egress listener's identity: a change of protocol or address is a new listener. */
function keyOf(listener: EgressListener): string {
  return `${listener.protocol} ${listener.bind}:${listener.port}`;
}

export class ExplicitEgressListeners<L extends Draining> {
  private readonly options: ExplicitEgressListenersOptions<L>;
  private readonly open = new Map<string, Open<L>>();
  /** Listeners that could not bind, reported once (not on every config). */
  private readonly reported = new Set<string>();
  private applying: Promise<void> = Promise.resolve();

  constructor(options: ExplicitEgressListenersOptions<L>) {
    this.options = options;
  }

  /**
   * Gives the open listeners their new view at once, then (one apply at a time, in order) closes
   * those `listeners` no longer has and opens the new ones (closed first: a listener whose
   * protocol changed rebinds the same address).
   */
  apply(listeners: readonly EgressListener[]): Promise<void> {
    for (const listener of listeners) {
      const open = this.open.get(keyOf(listener));
      if (open !== undefined) open.entry.listener = listener;
    }
    const next = this.applying.then(() => this.applyNow(listeners));
    this.applying = next.catch(() => undefined);
    return next;
  }

  /** Bound listeners by name (`egress-<port>` → port). */
  get boundPorts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { entry } of this.open.values()) out[`egress-${entry.listener.port}`] = entry.listener.port;
    return out;
  }

  private async applyNow(listeners: readonly EgressListener[]): Promise<void> {
    const wanted = new Map(listeners.map((l) => [keyOf(l), l]));
    for (const [key, open] of this.open) {
      if (wanted.has(key)) continue;
      this.open.delete(key);
      this.options.logger.info("egress listener closed", { name: open.entry.listener.name });
      this.options.closed(open.entry, open.listener, open.listener.drain(this.options.drainMs));
    }
    for (const [key, listener] of wanted) {
      if (this.open.has(key) || this.options.isDraining()) continue;
      const entry: ExplicitEgressEntry = { listener };
      let opened: L;
      try {
        opened = await this.options.open(entry);
      } catch (error) {
        if (!this.reported.has(key)) {
          this.reported.add(key);
          this.options.logger.error("cannot open a Sidecar egress listener; its applications cannot reach it", {
            name: listener.name,
            err: error,
            fix: `free ${listener.bind}:${listener.port}, or give the Sidecar egress listener another port or bind address`,
          });
        }
        continue;
      }
      if (this.options.isDraining()) {
        // Drained while the port was being bound: it never serves.
        void opened.drain(0);
        continue;
      }
      this.reported.delete(key);
      this.open.set(key, { entry, listener: opened });
      this.options.opened(entry, opened);
      this.options.logger.info("egress listener open", { name: listener.name, protocol: listener.protocol, hosts: listener.hosts });
    }
  }
}
