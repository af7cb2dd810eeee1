// Decoded durations (milliseconds) as Istio's webhook takes them in traffic policies: at least 1ms
// and a whole number of milliseconds, 0 only where it has a documented meaning.
import type { FieldIssue, FieldPath } from "../field-issue.ts";

/**
 * Checks a decoded duration (milliseconds) the way Istio does: at least 1ms and a whole number of
 * milliseconds. `allowZero` for fields where 0s has a documented meaning (e.g. "disabled").
 */
export function checkDuration(ms: number | undefined, path: FieldPath, options: { allowZero?: boolean } = {}): FieldIssue[] {
  if (ms === undefined) return [];
  if (ms === 0 && options.allowZero === true) return [];
  if (ms < 1) {
    return [{ path, message: `duration ${formatMs(ms)} is shorter than 1ms`, hint: "use at least 1ms, e.g. 100ms or 10s" }];
  }
  if (!Number.isInteger(ms)) {
    return [{ path, message: `duration ${formatMs(ms)} is not a whole number of milliseconds`, hint: `round it to ${Math.round(ms)}ms` }];
  }
  return [];
}

function formatMs(ms: number): string {
  return ms === 0 ? "0s" : `${ms}ms`;
}
