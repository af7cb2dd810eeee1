import { describe, expect, it } from "vitest";
import { headerRecord } from "../proxy/route-request.ts";
import { requestHeadFromHttp2 } from "./request-head-from-http2.ts";

describe("requestHeadFromHttp2()", () => {
  it("takes method, path, query and authority from the pseudo-headers", () => {
    const head = requestHeadFromHttp2({ ":method": "POST", ":path": "/a/b?x=1&y=2", ":authority": "svc.test:8080", ":scheme": "http", "content-length": "12" });
    expect(head).toMatchObject({ method: "POST", target: "/a/b?x=1&y=2", path: "/a/b", query: "x=1&y=2", authority: "svc.test:8080", contentLength: 12, absoluteForm: false });
    expect(head.names).toEqual(["content-length"]);
    expect(head.hasTraceHeaders).toBe(false);
    expect(requestHeadFromHttp2({ ":method": "GET", ":path": "/", "x-b3-traceid": "abc" }).hasTraceHeaders).toBe(true);
  });

  it("falls back to the host header and keeps repeated values as separate fields", () => {
    const head = requestHeadFromHttp2({ ":method": "GET", ":path": "/", host: "h.test", "x-a": ["1", "2"] });
    expect(head.authority).toBe("h.test");
    expect(head.contentLength).toBe(-1);
    expect(head.names).toEqual(["host", "x-a", "x-a"]);
    expect(headerRecord(head)["x-a"]).toBe("1,2");
  });

  it("counts the header block size for telemetry", () => {
    const head = requestHeadFromHttp2({ ":method": "GET", ":path": "/", "x-b": "abc" });
    expect(head.headBytes).toBe(":method".length + 3 + 4 + ":path".length + 1 + 4 + 3 + 3 + 4);
  });
});
