// What one run of a health check found, in Consul's terms.
import type { HealthStatus } from "../registry-contract.ts";

export interface ProbeResult {
  readonly status: HealthStatus;
  /** Consul-style output shown in the check's Output field. */
  readonly output: string;
}

/** Consul keeps at most 4 KiB of a check's output (agent/checks: DefaultBufSize / BufSize). */
export const maxOutputBytes = 4096;

export function truncateOutput(text: string): string {
  return text.length <= maxOutputBytes ? text : `${text.slice(0, maxOutputBytes)} ...`;
}
