import { describe, expect, it } from "vitest";
import { applyCors } from "./apply-cors.ts";
import { compileStringMatch } from "./compile-string-match.ts";
import type { Cors } from "./route-table.ts";

const cors: Cors = {
  allowOrigins: [compileStringMatch({ exact: "https://app.example.com" }), compileStringMatch({ regex: "https://.*\\.trusted\\.io" })],
  allowMethods: "GET,POST",
  allowHeaders: "content-type,x-token",
  exposeHeaders: "x-trace",
  maxAgeSeconds: "600",
  allowCredentials: true,
  unmatchedPreflights: "FORWARD",
};

describe("applyCors", () => {
  it("answers a preflight from an allowed origin with the policy's headers", () => {
    expect(applyCors(cors, "OPTIONS", { origin: "https://app.example.com", "access-control-request-method": "POST" })).toEqual({
      type: "preflight",
      headers: [
        ["access-control-allow-origin", "https://app.example.com"],
        ["access-control-allow-methods", "GET,POST"],
        ["access-control-allow-headers", "content-type,x-token"],
        ["access-control-max-age", "600"],
        ["access-control-allow-credentials", "true"],
      ],
    });
  });

  it("adds allow-origin, credentials and expose headers to an actual request's response", () => {
    expect(applyCors(cors, "GET", { origin: "https://x.trusted.io" })).toEqual({
      type: "actual",
      responseHeaders: [
        ["access-control-allow-origin", "https://x.trusted.io"],
        ["access-control-allow-credentials", "true"],
        ["access-control-expose-headers", "x-trace"],
      ],
    });
  });

  it("does nothing without Origin or for another origin; OPTIONS without a request method is not a preflight", () => {
    expect(applyCors(cors, "GET", {})).toBeUndefined();
    expect(applyCors(cors, "GET", { origin: "https://evil.example" })).toBeUndefined();
    expect(applyCors(cors, "OPTIONS", { origin: "https://evil.example", "access-control-request-method": "GET" })).toBeUndefined();
    expect(applyCors(cors, "OPTIONS", { origin: "https://app.example.com" })?.type).toBe("actual");
  });

  it("answers an unmatched preflight without CORS headers when unmatchedPreflights is IGNORE", () => {
    expect(applyCors({ ...cors, unmatchedPreflights: "IGNORE" }, "OPTIONS", { origin: "https://evil.example", "access-control-request-method": "GET" })).toEqual({ type: "preflight", headers: [] });
  });
});
