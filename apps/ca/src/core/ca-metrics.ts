// The CA's metrics and their Prometheus text exposition (format 0.0.4): issued (X.509 and JWT) and
// refused counters (by reason) and a signing-latency histogram. prom-client is not a dependency: the
// format is a few lines (https://prometheus.io/docs/instrumenting/exposition_formats/).

/** Histogram bucket upper bounds for signing latency, seconds. */
export const signingLatencyBucketsSeconds: readonly number[] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Counters and the latency histogram of one CA process. */
export class CaMetrics {
  issued = 0;
  jwtSvidsIssued = 0;
  readonly refused = new Map<string, number>();
  readonly #bucketCounts = signingLatencyBucketsSeconds.map(() => 0);
  #latencyCount = 0;
  #latencySumSeconds = 0;

  /** Counts a refusal by its reason. */
  countRefusal(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  /** Records one signing (parse, attest, sign) that took `seconds`. */
  observeSigning(seconds: number): void {
    this.#latencyCount++;
    this.#latencySumSeconds += seconds;
    signingLatencyBucketsSeconds.forEach((le, i) => {
      if (seconds <= le) this.#bucketCounts[i] = (this.#bucketCounts[i] ?? 0) + 1;
    });
  }

  /** The Prometheus text exposition; `extra` lines (process metrics) are appended as given. */
  render(extra: readonly string[] = []): string {
    const lines = [
      "# HELP meshwork_ca_certificates_issued_total X.509-SVIDs issued.",
      "# TYPE meshwork_ca_certificates_issued_total counter",
      `meshwork_ca_certificates_issued_total ${this.issued}`,
      "# HELP meshwork_ca_jwt_svids_issued_total JWT-SVIDs issued.",
      "# TYPE meshwork_ca_jwt_svids_issued_total counter",
      `meshwork_ca_jwt_svids_issued_total ${this.jwtSvidsIssued}`,
      "# HELP meshwork_ca_certificates_refused_total Certificate and JWT-SVID requests refused, by reason.",
      "# TYPE meshwork_ca_certificates_refused_total counter",
      ...[...this.refused.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([reason, n]) => `meshwork_ca_certificates_refused_total{reason="${reason}"} ${n}`),
      "# HELP meshwork_ca_signing_duration_seconds Time to attest and sign one certificate request.",
      "# TYPE meshwork_ca_signing_duration_seconds histogram",
      ...signingLatencyBucketsSeconds.map((le, i) => `meshwork_ca_signing_duration_seconds_bucket{le="${le}"} ${this.#bucketCounts[i] ?? 0}`),
      `meshwork_ca_signing_duration_seconds_bucket{le="+Inf"} ${this.#latencyCount}`,
      `meshwork_ca_signing_duration_seconds_sum ${this.#latencySumSeconds}`,
      `meshwork_ca_signing_duration_seconds_count ${this.#latencyCount}`,
      ...extra,
    ];
    return `${lines.join("\n")}\n`;
  }
}
