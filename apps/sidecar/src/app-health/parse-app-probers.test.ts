import { describe, expect, it } from "vitest";
import { parseAppProbers } from "./parse-app-probers.ts";

describe("parseAppProbers", () => {
  it("reads Istio's ISTIO_KUBE_APP_PROBERS shape: httpGet with defaults, headers and HTTPS, and tcpSocket", () => {
    const result = parseAppProbers(
      JSON.stringify({
        "/app-health/web/livez": { httpGet: { path: "/healthz", port: 8080 } },
        "/app-health/web/readyz": { httpGet: { path: "/ready", port: 8443, scheme: "HTTPS", httpHeaders: [{ name: "X-Probe", value: "1" }] }, timeoutSeconds: 3 },
        "/app-health/db/startupz": { tcpSocket: { port: 5432 }, timeoutSeconds: 2 },
      }),
    );
    expect(result.ok && Object.fromEntries(result.probers)).toEqual({
      "/app-health/web/livez": { type: "httpGet", path: "/healthz", port: 8080, scheme: "HTTP", host: undefined, headers: [], timeoutSeconds: 1 },
      "/app-health/web/readyz": { type: "httpGet", path: "/ready", port: 8443, scheme: "HTTPS", host: undefined, headers: [["X-Probe", "1"]], timeoutSeconds: 3 },
      "/app-health/db/startupz": { type: "tcpSocket", port: 5432, host: undefined, timeoutSeconds: 2 },
    });
  });

  it("treats unset or blank config as no probers", () => {
    for (const text of [undefined, "", "  "]) expect(parseAppProbers(text)).toEqual({ ok: true, probers: new Map() });
  });

  it.each([
    ["not json", "{", /is not JSON/],
    ["not an object", "[]", /must be a JSON object/],
    ["a path outside /app-health", JSON.stringify({ "/healthz": { tcpSocket: { port: 1 } } }), /"\/healthz": the path must be \/app-health\/<container>\/livez/],
    ["both probe kinds", JSON.stringify({ "/app-health/a/livez": { tcpSocket: { port: 1 }, httpGet: { port: 1 } } }), /exactly one of httpGet and tcpSocket/],
    ["a named port", JSON.stringify({ "/app-health/a/livez": { httpGet: { path: "/", port: "http" } } }), /port must be a number from 1 to 65535 \(the injector resolves named ports\), got "http"/],
    ["a bad scheme", JSON.stringify({ "/app-health/a/livez": { httpGet: { path: "/", port: 80, scheme: "ftp" } } }), /scheme must be HTTP or HTTPS/],
    ["a relative path", JSON.stringify({ "/app-health/a/livez": { httpGet: { path: "healthz", port: 80 } } }), /path must start with "\/"/],
    ["a zero timeout", JSON.stringify({ "/app-health/a/livez": { tcpSocket: { port: 80 }, timeoutSeconds: 0 } }), /timeoutSeconds must be a whole number of seconds ≥ 1/],
    ["a header without name", JSON.stringify({ "/app-health/a/livez": { httpGet: { port: 80, httpHeaders: [{ value: "x" }] } } }), /httpHeaders entries must be/],
  ])("rejects %s, naming the setting and the fix", (_case, text, message) => {
    const result = parseAppProbers(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toMatch(/^MESHWORK_KUBE_APP_PROBERS/);
      expect(result.message).toMatch(message);
    }
  });
});
