// The control plane's Prometheus metrics, with Istio's pilot names so istiod dashboards work:
// pushes and rejects per type, proxy convergence time, connected proxies, debounce bursts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Seconds from a config change to a proxy's ACK; a push should converge well under a second. */
export const convergenceBucketsSeconds: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 20, 30];

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  /** pilot_xds_pushes{type}: responses sent. */
  readonly pushes: Counter<"type">;
  /** pilot_total_xds_rejects{type}: NACKs received. */
  readonly rejects: Counter<"type">;
  /** pilot_xds_push_errors{reason}: responses that could not be computed or written. */
  readonly pushErrors: Counter<"reason">;
  /** pilot_proxy_convergence_time: change (first of the debounced burst) → ACK. */
  readonly convergence: Histogram;
  /** pilot_xds: connected proxies. */
  readonly connected: Gauge;
  /** meshwork_control_plane_config_rejections_total{source}: config entries refused by admission. */
  readonly configRejections: Counter<"source">;

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.pushes = new Counter({ name: "pilot_xds_pushes", help: "Discovery responses sent, by resource type.", labelNames: ["type"], registers });
    this.rejects = new Counter({ name: "pilot_total_xds_rejects", help: "Discovery responses proxies rejected (NACK), by resource type.", labelNames: ["type"], registers });
    this.pushErrors = new Counter({ name: "pilot_xds_push_errors", help: "Pushes that failed (compute error, stream write error).", labelNames: ["reason"], registers });
    this.convergence = new Histogram({
      name: "pilot_proxy_convergence_time",
      help: "Seconds from a config change (first of a debounced burst) until a proxy ACKed the response carrying it.",
      buckets: [...convergenceBucketsSeconds],
      registers,
    });
    this.connected = new Gauge({ name: "pilot_xds", help: "Proxies connected to this control-plane replica.", registers });
    this.configRejections = new Counter({ name: "meshwork_control_plane_config_rejections_total", help: "Config entries rejected by admission (the last good version keeps serving).", labelNames: ["source"], registers });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
