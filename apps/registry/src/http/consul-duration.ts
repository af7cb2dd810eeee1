// Go-style durations as Consul takes them ("10s", "1m30s", "150ms") and gives them back ("30s").
import { badRequest } from "./http-error.ts";

const unitMs: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go `time.ParseDuration` string into milliseconds. A bare number is taken as seconds
 * (Consul's `?wait=10` habit). Throws a 400 naming `what` when malformed.
 */
export function parseDurationMs(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match !== null; match = part.exec(trimmed)) {
    total += Number(match[1]) * (unitMs[match[2] ?? ""] ?? 0);
    consumed = part.lastIndex;
  }
  if (trimmed === "" || consumed !== trimmed.length) {
    throw badRequest(`Invalid ${what} "${text}": use a Go duration such as "10s", "1m30s" or "500ms"`);
  }
  return total;
}

/** Formats milliseconds as Go's `Duration.String()` does for whole units ("30s", "1m0s", "1h0m0s", "0s"). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds - hours * 3600) / 60);
  const seconds = Number((totalSeconds - hours * 3600 - minutes * 60).toFixed(3));
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
