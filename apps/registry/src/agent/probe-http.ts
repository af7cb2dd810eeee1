// Consul's HTTP check: GET the URL; 2xx is passing, 429 warning, anything else (or no answer) critical.
import { type ProbeResult, truncateOutput } from "./probe-result.ts";

/** Maps an HTTP status code to a check status as Consul's CheckHTTP does. */
export function httpStatusToHealth(code: number): ProbeResult["status"] {
  if (code >= 200 && code <= 299) return "passing";
  if (code === 429) return "warning";
  return "critical";
}

export async function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const response = await fetch(url, { method: "GET", signal: AbortSignal.timeout(timeoutMs), headers: { "user-agent": "Consul Health Check", accept: "text/plain, text/*, */*" } });
    const body = await response.text();
    return {
      status: httpStatusToHealth(response.status),
      output: truncateOutput(`HTTP GET ${url}: ${response.status} ${response.statusText} Output: ${body}`),
    };
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? `timed out after ${timeoutMs}ms` : describeError(error);
    return { status: "critical", output: `Get "${url}": ${reason}` };
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
